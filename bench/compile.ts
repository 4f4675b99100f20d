/**
 * `npm run bench compile`: Gatehouse's compile (read + parse + compile + emit) against
 * `shorewall compile` of the very same generated directories, in the same run.
 * Directories have four zones, mixed ACCEPT/DROP/REJECT rules with addresses and ports,
 * and a tenth as many DNAT rules. Shorewall runs inside a throwaway network namespace
 * because it probes the kernel; it is skipped (with the reason) when that is impossible.
 *
 * Figures (wall and CPU time):
 * - warm: the steady state of a process that compiles again and again (a daemon, watch
 *   mode, the test suite): the mean of back-to-back compiles after a warm-up, so every
 *   collection their garbage causes is paid inside the measured time; median of batches;
 * - after a full GC: the median of single compiles each preceded by a forced full
 *   collection. Shown for comparison only: a forced collection shrinks the young
 *   generation, so the next compile promotes objects early and pays for it, a state no
 *   running process is in (this was the warm figure until the steady one replaced it);
 * - fresh: one compile in a new Node process (JIT cold), and that process's whole life
 *   (Node start, module loading, compile), which is what a `gatehouse compile` costs;
 * - command: `gatehouse compile` as an administrator types it (node bin/gatehouse.js, the
 *   argument parser, the plan written to disk, the summary printed), with and without
 *   NODE_EXTRA_CA_CERTS in the environment (Node reads that file at start); the conservative
 *   figure, the one the goals are judged by;
 * - by name: `gatehouse compile` through bin/gatehouse.js's own sh line, as a command on
 *   the PATH runs (Node then starts without NODE_EXTRA_CA_CERTS);
 * - node -e 0: a bare Node start beside the commands, the floor under any of them;
 * - shorewall: `shorewall compile`, a whole Perl process every time.
 * BENCH_SIZES (100,1000,5000,50000) and BENCH_RUNS (5, the commands per size) narrow a run.
 * Every directory carries Shorewall's stock shorewall.conf when the shorewall package is
 * installed (a real administrator's file, with every setting), else a two-line one.
 * The machine is shared, so CPU times are the steadier figures.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, planFiles } from '../src/compile/index.js';
import { parseShorewall, readShorewallDir } from '../src/shorewall/index.js';
import { median } from './_measure.js';

/** BENCH_SIZES=5000 (comma-separated) runs only those sizes; the 5,000 and 50,000 lines print when measured. */
const SIZES = (process.env['BENCH_SIZES'] ?? '100,1000,5000,50000').split(',').map(Number);
/** Shorewall needs tens of seconds at 50,000 rules: above 5,000 it runs once (BENCH_SHOREWALL_BIG=0 skips it). */
const SHOREWALL_MAX = 5000;
const SHOREWALL_BIG_RUNS = Number(process.env['BENCH_SHOREWALL_BIG'] ?? 1);
/** Warm: BATCHES batches of BATCH back-to-back compiles each. */
const BATCHES = 5;
const BATCH = 10;
/** At 50,000 rules one compile takes about half a second: fewer per batch. */
const BIG_BATCH = 3;
const AFTER_GC_RUNS = 7;
const FRESH_RUNS = 3;
const SHOREWALL_RUNS = 3;
/** Whole `gatehouse compile` commands per size and environment (BENCH_RUNS, at least 5 for a figure the goals are judged by). */
const COMMAND_RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const STOCK_CONF = '/usr/share/shorewall/configfiles/shorewall.conf';
const gatehouseBin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'gatehouse.js');

/**
 * Deterministic pseudo-random numbers (xorshift32), so every run benchmarks the same
 * files. The generator used to take `% 4` of a power-of-two LCG, whose low bits cycle:
 * nearly every rule came out as loc -> net over tcp, one zone pair instead of twelve.
 */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function generate(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  const rand = xorshift(count);
  const zones = ['loc', 'net', 'dmz', 'gst'];
  writeFileSync(join(dir, 'zones'), 'fw\tfirewall\n' + zones.map((z) => `${z}\tipv4`).join('\n') + '\n');
  writeFileSync(join(dir, 'interfaces'), '?FORMAT 2\n' + zones.map((z, i) => `${z}\teth${i}\tnosmurfs,routeback${z === 'net' ? ',dhcp' : ''}`).join('\n') + '\n');
  writeFileSync(join(dir, 'policy'), 'loc\tnet\tACCEPT\n$FW\tall\tACCEPT\nnet\tall\tDROP\tinfo\nall\tall\tREJECT\tinfo\n');
  writeFileSync(join(dir, 'snat'), 'MASQUERADE\t10.0.0.0/8\teth1\n');
  writeFileSync(join(dir, 'stoppedrules'), 'ACCEPT\t-\t$FW\ttcp\t22\n');
  if (existsSync(STOCK_CONF)) copyFileSync(STOCK_CONF, join(dir, 'shorewall.conf'));
  else writeFileSync(join(dir, 'shorewall.conf'), 'IP_FORWARDING=On\nLOGFORMAT="Shorewall:%s:%s:"\n');
  const verdicts = ['ACCEPT', 'DROP', 'REJECT'];
  const protos = ['tcp', 'udp'];
  const lines = ['?SECTION NEW'];
  const addr = (zone: string) => {
    const r = rand();
    if (zone === 'net') return `net:198.${(r >> 16) & 127}.${(r >> 8) & 255}.${r & 255}`;
    const net = zones.indexOf(zone) + 1;
    return `${zone}:10.${net}.${(r >> 8) & 255}.${r & 255}`;
  };
  for (let i = 0; i < count; i++) {
    const src = zones[rand() % 4]!;
    let dst = zones[rand() % 4]!;
    if (dst === src) dst = src === 'net' ? 'loc' : 'net';
    const verdict = verdicts[rand() % 3]!;
    const proto = protos[rand() % 2]!;
    const port = 1 + (rand() % 60000);
    const source = rand() % 2 === 0 ? addr(src) : src;
    lines.push(`${verdict}\t${source}\t${addr(dst)}\t${proto}\t${port}${rand() % 3 === 0 ? `,${port + 1}` : ''}`);
  }
  for (let i = 0; i < count / 10; i++) {
    const target = `10.1.${(i >> 8) & 255}.${i & 255}`;
    lines.push(`DNAT\tnet\tloc:${target}:${1 + (i % 1000)}\ttcp\t${10000 + (i % 50000)}\t-\t&eth1`);
  }
  writeFileSync(join(dir, 'rules'), lines.join('\n') + '\n');
}

interface Timing {
  ms: number;
  cpuMs: number;
}

async function gatehouseOnce(dir: string): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const files = await readShorewallDir(dir);
  const plan = compile(parseShorewall(files, { family: 4, dir }), undefined);
  planFiles(plan);
  const used = process.cpuUsage(cpu);
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: (used.user + used.system) / 1000 };
}

function whyNoShorewall(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot create a network namespace for shorewall';
  if (spawnSync('sh', ['-c', 'command -v shorewall']).status !== 0) return 'shorewall is not installed';
  return undefined;
}

/** Seconds in bash's `times` output (`0m1.234s`). */
function timesSeconds(text: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

/**
 * One `shorewall compile`, with the CPU time of its whole process tree from bash's `times`.
 * Shorewall runs of other users of the machine can make one fail now and then; a failed
 * run is retried (and said so), never timed.
 */
function shorewallOnce(ns: string, dir: string, out: string): Timing {
  const log = `${out}.log`;
  const script = 'ip netns exec "$1" shorewall compile "$2" "$3" >"$4" 2>&1 || exit 1; times';
  for (let attempt = 1; ; attempt++) {
    const start = process.hrtime.bigint();
    const r = spawnSync('bash', ['-c', script, 'bash', ns, dir, out, log], { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status === 0) {
      const children = (r.stdout.trim().split('\n')[1] ?? '').split(/\s+/);
      return { ms, cpuMs: (timesSeconds(children[0] ?? '') + timesSeconds(children[1] ?? '')) * 1000 };
    }
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-3).join('\n');
    if (attempt === 3) throw new Error(`shorewall compile failed for ${dir}:\n${tail}`);
    console.log(`shorewall compile failed for ${dir} (attempt ${attempt}, retrying): ${tail.replace(/\n/g, ' | ')}`);
  }
}

interface FreshRun {
  compileMs: number;
  compileCpuMs: number;
  /** From the process's start (Node start and module loading included) to the end of the compile. */
  processMs: number;
  maxRssMb: number;
}

/** CPU time (user + system, ms) of this process's finished children, from /proc. */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

interface CommandRun extends Timing {
  maxRssMb: number;
}

/**
 * One `gatehouse compile` as typed, into a scratch root; the interface addresses come from
 * a file, as on a box whose target is read at the edge. `caCerts`: whether
 * NODE_EXTRA_CA_CERTS stays in the environment (when this environment has it).
 */
function commandOnce(dir: string, root: string, caCerts: boolean): CommandRun {
  const env = { ...process.env };
  if (!caCerts) delete env['NODE_EXTRA_CA_CERTS'];
  const args = [gatehouseBin, 'compile', '--root', root, '--dir', dir, '--out', join(root, 'plan'), '--addresses', join(root, 'addresses.json')];
  const cpu = childrenCpuMs();
  const start = process.hrtime.bigint();
  // /usr/bin/time would add a process; GNU time's %M is what `ru_maxrss` of the child gives.
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...args], { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`gatehouse compile failed: ${r.stderr}`);
  const rssKb = Number(r.stderr.trim().split('\n').pop());
  return { ms, cpuMs: childrenCpuMs() - cpu, maxRssMb: rssKb / 1024 };
}

/**
 * `gatehouse compile` run by name, as an administrator types it once npm link or npm install
 * -g put bin/gatehouse.js on the PATH: its sh line starts Node (without NODE_EXTRA_CA_CERTS,
 * whatever the environment holds).
 */
function byNameOnce(dir: string, root: string): CommandRun {
  const args = ['compile', '--root', root, '--dir', dir, '--out', join(root, 'plan'), '--addresses', join(root, 'addresses.json')];
  const cpu = childrenCpuMs();
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', gatehouseBin, ...args], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`gatehouse compile (by name) failed: ${r.stderr}`);
  return { ms, cpuMs: childrenCpuMs() - cpu, maxRssMb: Number(r.stderr.trim().split('\n').pop()) / 1024 };
}

/** `node -e 0` in the environment given: what any fresh Node process costs here (the floor under every command). */
function bareNodeOnce(caCerts: boolean): CommandRun {
  const env = { ...process.env };
  if (!caCerts) delete env['NODE_EXTRA_CA_CERTS'];
  const cpu = childrenCpuMs();
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, '-e', '0'], { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, cpuMs: childrenCpuMs() - cpu, maxRssMb: Number(r.stderr.trim().split('\n').pop()) / 1024 };
}

/** One compile in a new Node process, so the JIT is cold and earlier runs' garbage does not count. */
function freshRun(dir: string): FreshRun {
  const r = spawnSync(process.execPath, [process.argv[1]!, '--fresh', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fresh compile child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as FreshRun;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

if (process.argv[2] === '--fresh') {
  const t = await gatehouseOnce(process.argv[3]!);
  const run: FreshRun = {
    compileMs: t.ms,
    compileCpuMs: t.cpuMs,
    processMs: performance.now(),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(run) + '\n');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'gh-bench-compile-'));
const skip = whyNoShorewall();
const ns = `ghc-bench-${process.pid}`;
let nsCreated = false;
try {
  if (!skip) {
    const r = spawnSync('ip', ['netns', 'add', ns]);
    if (r.status !== 0) throw new Error(`cannot create network namespace ${ns}`);
    nsCreated = true;
  } else console.log(`shorewall comparison skipped: ${skip}`);
  interface Row {
    size: number;
    warm: Timing;
    afterGc: Timing;
    fresh: { compileMs: number; compileCpuMs: number; processMs: number; maxRssMb: number };
    command: { ca?: CommandRun; plain: CommandRun; byName: CommandRun; bare: { ca?: CommandRun; plain: CommandRun } };
    shorewall?: Timing;
  }
  const results: Row[] = [];
  for (const size of SIZES) {
    const dir = join(work, `rules-${size}`);
    generate(dir, size);
    for (let i = 0; i < 3; i++) await gatehouseOnce(dir); // warm-up: JIT, file cache, heap sizing
    const batch = size >= 50000 ? BIG_BATCH : BATCH;
    const batches: Timing[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) await gatehouseOnce(dir);
      const used = process.cpuUsage(cpu);
      batches.push({ ms: Number(process.hrtime.bigint() - start) / 1e6 / batch, cpuMs: (used.user + used.system) / 1000 / batch });
    }
    const afterGc: Timing[] = [];
    for (let i = 0; i < AFTER_GC_RUNS; i++) {
      gc();
      afterGc.push(await gatehouseOnce(dir));
    }
    const fresh: FreshRun[] = [];
    for (let i = 0; i < FRESH_RUNS; i++) fresh.push(freshRun(dir));
    const root = join(work, `root-${size}`);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'addresses.json'), JSON.stringify([{ ifname: 'eth1', addr_info: [{ family: 'inet', local: '203.0.113.2', prefixlen: 24 }] }]));
    const hasCa = process.env['NODE_EXTRA_CA_CERTS'] !== undefined;
    const withCa: CommandRun[] = [];
    const plain: CommandRun[] = [];
    const byName: CommandRun[] = [];
    const bareCa: CommandRun[] = [];
    const barePlain: CommandRun[] = [];
    // Interleaved, so the machine's load hits every form alike.
    for (let i = 0; i < COMMAND_RUNS; i++) {
      if (hasCa) withCa.push(commandOnce(dir, root, true));
      plain.push(commandOnce(dir, root, false));
      byName.push(byNameOnce(dir, root));
      if (hasCa) bareCa.push(bareNodeOnce(true));
      barePlain.push(bareNodeOnce(false));
    }
    const med = (runs: CommandRun[]): CommandRun => ({ ms: median(runs.map((r) => r.ms)), cpuMs: median(runs.map((r) => r.cpuMs)), maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)) });
    const row: Row = {
      size,
      command: {
        ...(hasCa ? { ca: med(withCa) } : {}),
        plain: med(plain),
        byName: med(byName),
        bare: { ...(hasCa ? { ca: med(bareCa) } : {}), plain: med(barePlain) },
      },
      warm: { ms: median(batches.map((r) => r.ms)), cpuMs: median(batches.map((r) => r.cpuMs)) },
      afterGc: { ms: median(afterGc.map((r) => r.ms)), cpuMs: median(afterGc.map((r) => r.cpuMs)) },
      fresh: {
        compileMs: median(fresh.map((f) => f.compileMs)),
        compileCpuMs: median(fresh.map((f) => f.compileCpuMs)),
        processMs: median(fresh.map((f) => f.processMs)),
        maxRssMb: Math.max(...fresh.map((f) => f.maxRssMb)),
      },
    };
    const shorewallRuns = size <= SHOREWALL_MAX ? SHOREWALL_RUNS : SHOREWALL_BIG_RUNS;
    if (!skip && shorewallRuns > 0) {
      const sw: Timing[] = [];
      for (let i = 0; i < shorewallRuns; i++) sw.push(shorewallOnce(ns, dir, join(work, `out-${size}`)));
      row.shorewall = { ms: median(sw.map((s) => s.ms)), cpuMs: median(sw.map((s) => s.cpuMs)) };
    }
    results.push(row);
  }
  const f0 = (n: number) => n.toFixed(0);
  const f1 = (n: number) => n.toFixed(1);
  const times = (a: number, b: number) => `${f1(a / b)}x`;
  console.log(
    `warm: median of ${BATCHES} batch means (${BATCH} back-to-back compiles, ${BIG_BATCH} at 50,000 rules); after GC: median of ${AFTER_GC_RUNS}; fresh: median of ${FRESH_RUNS} new processes; shorewall: median of ${SHOREWALL_RUNS} (${SHOREWALL_BIG_RUNS} above ${SHOREWALL_MAX} rules). wall / CPU in ms; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  console.log(' rules (+10% DNAT) |  warm wall / cpu | after GC wall / cpu | fresh compile wall / cpu | fresh process | peak RSS | shorewall wall / cpu | shorewall / warm (cpu) | / after GC | / fresh compile | / fresh process');
  for (const r of results) {
    const sw = r.shorewall;
    console.log(
      [
        String(r.size).padStart(18),
        `${f1(r.warm.ms)} / ${f1(r.warm.cpuMs)}`.padStart(16),
        `${f1(r.afterGc.ms)} / ${f1(r.afterGc.cpuMs)}`.padStart(19),
        `${f0(r.fresh.compileMs)} / ${f0(r.fresh.compileCpuMs)}`.padStart(24),
        `${f0(r.fresh.processMs)}`.padStart(13),
        `${f0(r.fresh.maxRssMb)} MB`.padStart(8),
        (sw ? `${f0(sw.ms)} / ${f0(sw.cpuMs)}` : '-').padStart(20),
        (sw ? `${times(sw.ms, r.warm.ms)} (${times(sw.cpuMs, r.warm.cpuMs)})` : '-').padStart(22),
        (sw ? times(sw.ms, r.afterGc.ms) : '-').padStart(10),
        (sw ? times(sw.ms, r.fresh.compileMs) : '-').padStart(15),
        (sw ? times(sw.ms, r.fresh.processMs) : '-').padStart(15),
      ].join(' | '),
    );
  }
  console.log(`\ngatehouse compile as typed (median of ${COMMAND_RUNS}, wall / CPU ms, peak RSS), the figure the goals are judged by:`);
  console.log(' rules (+10% DNAT) | node bin/gatehouse.js, with NODE_EXTRA_CA_CERTS | without | by name (gatehouse compile) | shorewall compile | shorewall / command (with, without, by name)');
  for (const r of results) {
    const c = r.command;
    const sw = r.shorewall;
    const run = (x: CommandRun) => `${f0(x.ms)} / ${f0(x.cpuMs)}, ${f0(x.maxRssMb)} MB`;
    console.log(
      [
        String(r.size).padStart(18),
        (c.ca ? run(c.ca) : 'not set here').padStart(46),
        run(c.plain).padStart(20),
        run(c.byName).padStart(27),
        (sw ? `${f0(sw.ms)} / ${f0(sw.cpuMs)}` : '-').padStart(17),
        (sw
          ? `${c.ca ? times(sw.ms, c.ca.ms) : '-'}, ${times(sw.ms, c.plain.ms)}, ${times(sw.ms, c.byName.ms)} (cpu ${c.ca ? times(sw.cpuMs, c.ca.cpuMs) : '-'}, ${times(sw.cpuMs, c.plain.cpuMs)}, ${times(sw.cpuMs, c.byName.cpuMs)})`
          : '-'
        ).padStart(20),
      ].join(' | '),
    );
  }
  // What no compile in a fresh process can go under: Node's own start, measured beside the commands.
  for (const r of results) {
    const b = r.command.bare;
    console.log(
      `${r.size} rules: node -e 0 beside the commands ${b.ca ? `${f0(b.ca.ms)} / ${f0(b.ca.cpuMs)} ms with NODE_EXTRA_CA_CERTS, ` : ''}${f0(b.plain.ms)} / ${f0(b.plain.cpuMs)} ms without; gatehouse compile without it spends ${f0(r.command.plain.ms - b.plain.ms)} ms (${f0(r.command.plain.cpuMs - b.plain.cpuMs)} ms CPU) over it`,
    );
  }
  const at5k = results.find((r) => r.size === 5000);
  const at50k = results.find((r) => r.size === 50000);
  if (at5k && at50k) {
    console.log(
      `50,000 / 5,000 time: warm ${f1(at50k.warm.ms / at5k.warm.ms)} (cpu ${f1(at50k.warm.cpuMs / at5k.warm.cpuMs)}), after a full GC ${f1(at50k.afterGc.ms / at5k.afterGc.ms)}, fresh ${f1(at50k.fresh.compileMs / at5k.fresh.compileMs)} (goal: under 10, i.e. linear)`,
    );
  }
  if (at5k?.shorewall) {
    const sw = at5k.shorewall;
    const c = at5k.command;
    const budget = sw.ms / 22;
    console.log(
      `at 5,000 rules, shorewall compile against gatehouse compile as typed: ${c.ca ? `${times(sw.ms, c.ca.ms)} with NODE_EXTRA_CA_CERTS, ` : ''}${times(sw.ms, c.plain.ms)} without, ${times(sw.ms, c.byName.ms)} by name (goal: at least 20x, with a 10% margin: 22x)`,
    );
    console.log(
      `  the goal with its margin allows ${f0(budget)} ms for the whole command; node -e 0 alone took ${f0(c.bare.plain.ms)} ms, and node's start plus a warm in-process compile ${f0(c.bare.plain.ms + at5k.warm.ms)} ms`,
    );
    console.log(
      `  beside it, in-process: ${times(sw.ms, at5k.warm.ms)} warm (cpu ${times(sw.cpuMs, at5k.warm.cpuMs)}; goal: at least 20x), ${times(sw.ms, at5k.afterGc.ms)} after a full GC, ${times(sw.ms, at5k.fresh.compileMs)} as a fresh compile, ${times(sw.ms, at5k.fresh.processMs)} as a whole fresh process`,
    );
  }
  if (at50k?.shorewall) {
    const sw = at50k.shorewall;
    const c = at50k.command;
    console.log(
      `at 50,000 rules (shorewall: ${SHOREWALL_BIG_RUNS === 1 ? 'one run' : `median of ${SHOREWALL_BIG_RUNS}`}), shorewall compile against gatehouse compile as typed: ${c.ca ? `${times(sw.ms, c.ca.ms)} with NODE_EXTRA_CA_CERTS, ` : ''}${times(sw.ms, c.plain.ms)} without, ${times(sw.ms, c.byName.ms)} by name (cpu ${c.ca ? `${times(sw.cpuMs, c.ca.cpuMs)}, ` : ''}${times(sw.cpuMs, c.plain.cpuMs)}; goal: at least 50x, with a 10% margin: 55x)`,
    );
  }
  if (at50k) console.log(`peak RSS of a 50,000-rule compile in a fresh process: ${f0(at50k.fresh.maxRssMb)} MB, the largest of ${FRESH_RUNS} (goal: under 300 MB)`);
} finally {
  if (nsCreated) spawnSync('ip', ['netns', 'del', ns]);
  rmSync(work, { recursive: true, force: true });
}
