/**
 * `npm run demo`: the built-in sample in dry-run, no root needed. Writes the sample into
 * ./demo-root (or a temporary root when ./demo-root is not ours), runs
 * `signal-event firewall-adjust --apply dry-run`, then lists the generated files and
 * summarises the plan. Nothing touches the kernel.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import type { PlanSummary } from '../compile/index.js';
import { describeError } from '../errors/index.js';
import { projectDir, runtimePaths } from '../layout/index.js';
import { writeSample } from '../sample/index.js';
import { formatSummary } from './gatehouse/compile.js';

const MARKER = '.gatehouse-demo-root';

/** ./demo-root when it is absent or made by an earlier demo; otherwise a fresh temporary root. */
async function chooseRoot(): Promise<string> {
  const wanted = resolve('demo-root');
  if (!existsSync(wanted) || existsSync(join(wanted, MARKER))) {
    await rm(wanted, { recursive: true, force: true });
    await mkdir(wanted, { recursive: true });
    await writeFile(join(wanted, MARKER), 'made by npm run demo; removed and rebuilt on every run\n');
    return wanted;
  }
  return mkdtemp(join(tmpdir(), 'gatehouse-demo-'));
}

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

export async function main(argv: string[]): Promise<number> {
  void argv;
  const out = (line = ''): void => void process.stdout.write(line + '\n');
  try {
    const root = await chooseRoot();
    const paths = runtimePaths(root);
    out(`# demo root: ${root}`);
    const records = await writeSample(root);
    out(`# gatehouse sample --root ${root}: ${records.length} records written (validated)`);
    out(`# signal-event --root ${root} --apply dry-run firewall-adjust`);
    const event = await execa(process.execPath, [join(projectDir(), 'bin/signal-event.js'), '--root', root, '--apply', 'dry-run', 'firewall-adjust'], {
      reject: false,
      env: { GATEHOUSE_ROOT: root },
    });
    if (event.stdout) out(String(event.stdout));
    if (event.exitCode !== 0) {
      process.stderr.write(String(event.stderr) + '\n');
      return event.exitCode ?? 1;
    }
    out();
    out('# generated files (lines)');
    for (const file of [...(await listFiles(paths.shorewall)), ...(await listFiles(paths.shorewall6)), ...(await listFiles(join(paths.planDir, 'next')))]) {
      const text = await readFile(file, 'utf8');
      out(`  ${relative(root, file)} (${text.split('\n').filter((l) => l !== '').length})`);
    }
    out();
    out('# plan summary');
    const summary = JSON.parse(await readFile(join(paths.planDir, 'next', 'summary.json'), 'utf8')) as PlanSummary;
    out(formatSummary(summary).trimEnd());
    out();
    out(`# look around: cat ${relative(process.cwd(), join(paths.shorewall, 'rules'))}; cat ${relative(process.cwd(), join(paths.planDir, 'next', 'rules.v4'))}`);
    out('# real packets: sudo npm run lab');
    return 0;
  } catch (e) {
    process.stderr.write(`demo: ${describeError(e)}\n`);
    return 1;
  }
}


if (process.argv[1] !== undefined && resolve(process.argv[1]).endsWith(join('dist', 'src', 'cli', 'demo.js'))) {
  process.exitCode = await main(process.argv.slice(2));
}
