/**
 * `npm run bench compile`: Gatehouse's compile (read + parse + compile + emit) against
 * `shorewall compile` of the very same generated directories, in the same run.
 * Directories have four zones, mixed ACCEPT/DROP/REJECT rules with addresses and ports,
 * and a tenth as many DNAT rules. Shorewall runs inside a throwaway network namespace
 * because it probes the kernel; it is skipped (with the reason) when that is impossible.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, planFiles } from '../src/compile/index.js';
import { parseShorewall, readShorewallDir } from '../src/shorewall/index.js';

const SIZES = [100, 1000, 5000, 50000];
/** Shorewall needs tens of seconds at 50,000 rules; compare it up to 5,000. */
const SHOREWALL_MAX = 5000;
const RUNS = 5;
const SHOREWALL_RUNS = 3;

/** Deterministic pseudo-random numbers, so every run benchmarks the same files. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s;
  };
}

function generate(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  const rand = lcg(count);
  const zones = ['loc', 'net', 'dmz', 'gst'];
  writeFileSync(join(dir, 'zones'), 'fw\tfirewall\n' + zones.map((z) => `${z}\tipv4`).join('\n') + '\n');
  writeFileSync(join(dir, 'interfaces'), '?FORMAT 2\n' + zones.map((z, i) => `${z}\teth${i}\tnosmurfs,routeback${z === 'net' ? ',dhcp' : ''}`).join('\n') + '\n');
  writeFileSync(join(dir, 'policy'), 'loc\tnet\tACCEPT\n$FW\tall\tACCEPT\nnet\tall\tDROP\tinfo\nall\tall\tREJECT\tinfo\n');
  writeFileSync(join(dir, 'snat'), 'MASQUERADE\t10.0.0.0/8\teth1\n');
  writeFileSync(join(dir, 'stoppedrules'), 'ACCEPT\t-\t$FW\ttcp\t22\n');
  writeFileSync(join(dir, 'shorewall.conf'), 'IP_FORWARDING=On\nLOGFORMAT="Shorewall:%s:%s:"\n');
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

async function gatehouseOnce(dir: string): Promise<number> {
  const start = process.hrtime.bigint();
  const files = await readShorewallDir(dir);
  const plan = compile(parseShorewall(files, { family: 4, dir }), undefined);
  planFiles(plan);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function whyNoShorewall(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot create a network namespace for shorewall';
  if (spawnSync('sh', ['-c', 'command -v shorewall']).status !== 0) return 'shorewall is not installed';
  return undefined;
}

function shorewallOnce(ns: string, dir: string, out: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', ns, 'shorewall', 'compile', dir, out], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`shorewall compile failed for ${dir}:\n${r.stdout}${r.stderr}`);
  return ms;
}

/** Peak RSS of one compile in a fresh process, so earlier runs' garbage does not count. */
function peakRssMb(dir: string): number {
  const r = spawnSync(process.execPath, [process.argv[1]!, '--peak-rss', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`peak-rss child failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

if (process.argv[2] === '--peak-rss') {
  await gatehouseOnce(process.argv[3]!);
  process.stdout.write(`${(process.resourceUsage().maxRSS / 1024).toFixed(0)}\n`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'gh-bench-compile-'));
const skip = whyNoShorewall();
const ns = `ghc-bench-${process.pid}`;
let nsCreated = false;
try {
  if (!skip) {
    spawnSync('ip', ['netns', 'add', ns]);
    nsCreated = true;
  } else console.log(`shorewall comparison skipped: ${skip}`);
  const results: { size: number; ms: number; shorewall?: number }[] = [];
  for (const size of SIZES) {
    const dir = join(work, `rules-${size}`);
    generate(dir, size);
    await gatehouseOnce(dir); // warm-up: JIT and file cache
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      gc();
      runs.push(await gatehouseOnce(dir));
    }
    const row: (typeof results)[number] = { size, ms: median(runs) };
    if (!skip && size <= SHOREWALL_MAX) {
      const sw: number[] = [];
      for (let i = 0; i < SHOREWALL_RUNS; i++) sw.push(shorewallOnce(ns, dir, join(work, `out-${size}`)));
      row.shorewall = median(sw);
    }
    results.push(row);
  }
  console.log(`rules (+10% DNAT) | gatehouse median of ${RUNS} | shorewall compile median of ${SHOREWALL_RUNS} | ratio`);
  for (const r of results) {
    const sw = r.shorewall === undefined ? '-' : `${r.shorewall.toFixed(0)} ms`;
    const ratio = r.shorewall === undefined ? '-' : `${(r.shorewall / r.ms).toFixed(1)}x faster`;
    console.log(`${String(r.size).padStart(6)} | ${r.ms.toFixed(1).padStart(8)} ms | ${sw.padStart(9)} | ${ratio}`);
  }
  const at5k = results.find((r) => r.size === 5000)!;
  const at50k = results.find((r) => r.size === 50000)!;
  console.log(`50,000 / 5,000 time: ${(at50k.ms / at5k.ms).toFixed(1)} (goal: under 10, i.e. linear)`);
  if (at5k.shorewall !== undefined) console.log(`at 5,000 rules: ${(at5k.shorewall / at5k.ms).toFixed(1)}x faster than shorewall compile (goal: at least 20x)`);
  console.log(`peak RSS of one 50,000-rule compile in a fresh process: ${peakRssMb(join(work, 'rules-50000'))} MB (goal: under 300 MB)`);
} finally {
  if (nsCreated) spawnSync('ip', ['netns', 'del', ns]);
  rmSync(work, { recursive: true, force: true });
}
