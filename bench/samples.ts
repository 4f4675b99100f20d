/**
 * `npm run bench samples`: Debian's Shorewall sample configurations (one-, two- and
 * three-interfaces, Universal, from /usr/share/doc/shorewall{,6}/examples), each compiled
 * by whole commands as an administrator types them, in the same run, interleaved:
 *   IPv4:        gatehouse compile --root R --dir D           against  shorewall compile D OUT
 *   IPv4 + IPv6: gatehouse compile --root R --dir D --dir6 D6 against  shorewall compile D OUT; shorewall6 compile D6 OUT6
 * Medians of RUNS runs (7, or GATEHOUSE_BENCH_RUNS, at least 5), wall time of the whole command (process start included). Shorewall
 * compiles inside a throwaway network namespace (it probes the kernel there), with a clean
 * environment and CONFIG_PATH limited to /usr/share so the host's /etc/shorewall stays out.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './_measure.js';

const RUNS = Number(process.env['GATEHOUSE_BENCH_RUNS'] ?? '7');
const SAMPLES = ['one-interface', 'two-interfaces', 'three-interfaces', 'Universal'];
const SAMPLES4 = '/usr/share/doc/shorewall/examples';
const SAMPLES6 = '/usr/share/doc/shorewall6/examples';
const projectDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GATEHOUSE = join(projectDir, 'bin', 'gatehouse.js');
const CLEAN_ENV = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: shorewall compile needs a network namespace';
  for (const tool of ['shorewall', 'shorewall6']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  if (!existsSync(SAMPLES4) || !existsSync(SAMPLES6)) return "Debian's sample configurations are not installed";
  return undefined;
}

/** A copy whose conf file reads nothing from the host's /etc/shorewall{,6}. */
function adapted(source: string, dest: string, family: 4 | 6): string {
  cpSync(source, dest, { recursive: true });
  const conf = join(dest, family === 4 ? 'shorewall.conf' : 'shorewall6.conf');
  appendFileSync(conf, `\nCONFIG_PATH="${family === 4 ? '/usr/share/shorewall' : '/usr/share/shorewall6:/usr/share/shorewall'}"\n`);
  return dest;
}

/** Wall time of one whole command; a failure stops the benchmark with its output. */
function timed(command: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, { encoding: 'utf8', env: CLEAN_ENV });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${String(r.status)}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

const skip = whyNot();
if (skip) {
  console.log(`samples benchmark skipped: ${skip}`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'gh-bench-samples-'));
const ns = `ghs-bench-${process.pid}`;
const cleanUp = (): void => {
  spawnSync('ip', ['netns', 'del', ns]);
  rmSync(work, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
const load = loadavg().map((l) => l.toFixed(2)).join(' ');
try {
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) throw new Error(`cannot create network namespace ${ns}`);
  console.log(`median of ${RUNS} runs each, interleaved, whole commands, wall ms; load average at start ${load}`);
  console.log('sample             | families    | gatehouse compile | shorewall compile | shorewall / gatehouse');
  for (const sample of SAMPLES) {
    const d4 = adapted(join(SAMPLES4, sample), join(work, `${sample}-4`), 4);
    const d6 = adapted(join(SAMPLES6, sample), join(work, `${sample}-6`), 6);
    for (const both of [false, true]) {
      const root = mkdtempSync(join(work, 'root-'));
      const gatehouseArgs = [GATEHOUSE, 'compile', '--root', root, '--dir', d4, ...(both ? ['--dir6', d6] : [])];
      const shorewallScript = both
        ? 'ip netns exec "$1" shorewall compile "$2" "$4/out4" >/dev/null && ip netns exec "$1" shorewall6 compile "$3" "$4/out6" >/dev/null'
        : 'ip netns exec "$1" shorewall compile "$2" "$4/out4" >/dev/null';
      const g: number[] = [];
      const s: number[] = [];
      // One unmeasured run of each: the file cache, Perl's and Node's first load.
      timed(process.execPath, gatehouseArgs);
      timed('bash', ['-c', shorewallScript, 'bash', ns, d4, d6, work]);
      for (let i = 0; i < RUNS; i++) {
        g.push(timed(process.execPath, gatehouseArgs));
        s.push(timed('bash', ['-c', shorewallScript, 'bash', ns, d4, d6, work]));
      }
      const gm = median(g);
      const sm = median(s);
      console.log(
        [sample.padEnd(18), (both ? 'IPv4 + IPv6' : 'IPv4').padEnd(11), `${gm.toFixed(0)} ms`.padStart(17), `${sm.toFixed(0)} ms`.padStart(17), `${(sm / gm).toFixed(1)}x`.padStart(21)].join(' | '),
      );
    }
  }
} finally {
  cleanUp();
}
