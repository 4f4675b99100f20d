/**
 * The lab cleans up after a run that is interrupted or ends without destroy(): a child
 * process builds a lab, then is signalled; none of its namespaces or veths may remain.
 */
import { type ChildProcess, spawn, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from './lab.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const here = dirname(fileURLToPath(import.meta.url));
const project = resolve(here, '../..');

/** A script that builds a lab, prints its names, then ends as `ending` says. */
function labScript(ending: 'wait' | 'exit'): string {
  return [
    "import { createLab } from './lab.mjs';",
    'const lab = await createLab();',
    'process.stdout.write(JSON.stringify({ id: lab.id, ns: lab.ns }) + "\\n");',
    ending === 'wait' ? 'setInterval(() => {}, 1000);' : 'process.exit(0);',
  ].join('\n');
}

interface StartedLab {
  child: ChildProcess;
  id: string;
  namespaces: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startLabProcess(dir: string, script: string): Promise<StartedLab> {
  const file = join(dir, `run-${Math.random().toString(16).slice(2)}.mjs`);
  await writeFile(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const first = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout! }).once('line', done);
    void exit.then(({ code }) => fail(new Error(`the lab script ended (${String(code)}) before the lab was built: ${stderr}`)));
  });
  const names = JSON.parse(first) as { id: string; ns: Record<string, string> };
  return { child, id: names.id, namespaces: Object.values(names.ns), exit };
}

function hostNamespaces(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}

/** Names of the veths in a namespace (or the host when `ns` is undefined). */
function veths(ns?: string): string[] {
  const args = ['-o', 'link', 'show', 'type', 'veth'];
  const out = execFileSync('ip', ns ? ['-n', ns, ...args] : args, { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
}

describe.skipIf(why)('the lab is torn down when its process is interrupted', () => {
  let dir: string;
  const started: StartedLab[] = [];

  beforeAll(async () => {
    // The lab is TypeScript; the child runs a transpiled copy that finds execa through a link.
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-lab-interrupt-'));
    const source = await readFile(join(here, 'lab.ts'), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
    await writeFile(join(dir, 'lab.mjs'), js);
    await symlink(join(project, 'node_modules'), join(dir, 'node_modules'));
  });
  afterAll(async () => {
    for (const s of started) {
      s.child.kill('SIGKILL');
      for (const name of s.namespaces) if (existsSync(`/run/netns/${name}`)) execFileSync('ip', ['netns', 'del', name]);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} removes every namespace and veth of the lab and exits ${code}`, async () => {
      const lab = await startLabProcess(dir, labScript('wait'));
      started.push(lab);
      expect(hostNamespaces()).toContain(lab.namespaces[0]);
      expect(veths(lab.namespaces[0]).sort()).toEqual(['blue0', 'green0', 'orange0', 'red0']);
      lab.child.kill(signal);
      expect((await lab.exit).code).toBe(code);
      const left = hostNamespaces();
      for (const name of lab.namespaces) expect(left).not.toContain(name);
      // The veths lived only in the lab's namespaces: none surfaced in the host.
      expect(veths()).toEqual(expect.not.arrayContaining(['green0', 'blue0', 'orange0', 'red0', 'wan0', 'inet0']));
    });
  }

  it('a run that ends without destroy() still removes the lab', async () => {
    const lab = await startLabProcess(dir, labScript('exit'));
    started.push(lab);
    expect((await lab.exit).code).toBe(0);
    const left = hostNamespaces();
    for (const name of lab.namespaces) expect(left).not.toContain(name);
  });
});
