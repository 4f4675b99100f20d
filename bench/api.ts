/**
 * API benchmark (needs root): three namespaces, an internet side (inet, with 100 probe
 * addresses), the gateway (gw) forwarding to a LAN host (lan). gw holds only the
 * blocklist chains and sets (src/compile/blocklist.ts), so what is measured is the
 * blocklist itself.
 *
 * 1. Request to dropped packet: each of 100 probe addresses sends a UDP probe through
 *    gw to an echo server every few ms; 100 concurrent HTTPS clients (connections
 *    already open, as a fleet's are) each PUT /drop/forward/any/<its address>; the drop
 *    time is when the first unanswered probe was sent (an upper bound, to the probe
 *    interval). Three rounds; p50 and p99 of all, with the request to response time.
 * 2. 100,000 entries: load time into the kernel at API start (database read, ipset
 *    restore, swap), process memory and the kernel set's memory; one block request
 *    against them (its database write is a journal append), beside the whole-file write
 *    every request used to pay (measured in the same run); the start with a journal
 *    left, and the merge it starts. Wall and CPU (this process and its children).
 *    BENCH_API=load runs only this part and 3, BENCH_API=latency only 1.
 * 3. Throughput lan <- inet through gw (iperf3, TCP, 3 s) with 0 and 100,000 entries.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { Blocklist, createBlocklistKernel, hashPassword, makeSelfSignedCertificate, readEntries } from '../src/api/index.js';
import { withBlocklist } from '../src/compile/blocklist.js';
import { emitRuleset } from '../src/compile/index.js';
import { TableBuilder } from '../src/compile/ir.js';
import { databaseFile, serializeDatabase, setRecord, updateDatabase, type Database } from '../src/db/index.js';
import { projectDir } from '../src/layout/index.js';

const CLIENTS = 100;
const ROUNDS = 3;
const PROBE_EVERY_MS = 4;
const ENTRIES = 100_000;

if (typeof process.getuid !== 'function' || process.getuid() !== 0 || spawnSync('sh', ['-c', 'command -v ipset && command -v iperf3'], { stdio: 'ignore' }).status !== 0) {
  console.log('skipped: the API benchmark needs root, ipset and iperf3');
  process.exit(0);
}

const id = randomBytes(3).toString('hex');
const ns = { gw: `ghb-gw-${id}`, inet: `ghb-in-${id}`, lan: `ghb-lan-${id}` };
const sources = Array.from({ length: CLIENTS }, (_, i) => `198.51.100.${100 + i}`);

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function setupLab(): Promise<void> {
  for (const n of Object.values(ns)) await execa('ip', ['netns', 'add', n]);
  await execa('ip', ['link', 'add', 'red0', 'netns', ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.inet]);
  await execa('ip', ['link', 'add', 'green0', 'netns', ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.lan]);
  const batch = (n: string, lines: string[]) => execa('ip', ['-n', n, '-batch', '-'], { input: lines.join('\n') + '\n' });
  await batch(ns.gw, ['link set lo up', 'address add 198.51.100.1/24 dev red0', 'link set red0 up', 'address add 192.168.1.1/24 dev green0', 'link set green0 up']);
  await batch(ns.inet, ['link set lo up', 'address add 198.51.100.10/24 dev eth0', ...sources.map((s) => `address add ${s}/24 dev eth0`), 'link set eth0 up', 'route add 192.168.1.0/24 via 198.51.100.1']);
  await batch(ns.lan, ['link set lo up', 'address add 192.168.1.10/24 dev eth0', 'link set eth0 up', 'route add default via 192.168.1.1']);
  await execa('ip', ['netns', 'exec', ns.gw, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  // The blocklist sets, then a ruleset that is only the blocklist (policies ACCEPT).
  await createBlocklistKernel({ kind: 'netns', name: ns.gw }).load([]);
  for (const family of [4, 6] as const) {
    const filter = new TableBuilder('filter');
    filter.add('INPUT', [{ kind: 'inInterface', name: 'lo' }], { kind: 'ACCEPT' });
    const text = emitRuleset({ family, tables: [withBlocklist(filter.build(), family)] });
    await execa('ip', ['netns', 'exec', ns.gw, family === 4 ? 'iptables-restore' : 'ip6tables-restore'], { input: text });
  }
  await execa('ip', ['netns', 'exec', ns.inet, 'ping', '-c', '1', '-W', '2', '192.168.1.10']);
}

async function destroyLab(): Promise<void> {
  for (const n of Object.values(ns)) await execa('ip', ['netns', 'del', n], { reject: false });
}

interface Prober {
  child: ChildProcessWithoutNullStreams;
  send(message: Record<string, unknown>): Promise<Record<string, unknown>>;
}

function startProber(namespace: string): Promise<Prober> {
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, join(projectDir(), 'bench/_api-prober.mjs')]);
  const lines = createInterface({ input: child.stdout });
  const waiting: ((m: Record<string, unknown>) => void)[] = [];
  return new Promise((resolve) => {
    lines.on('line', (line) => {
      const m = JSON.parse(line) as Record<string, unknown>;
      if (m['ready']) {
        resolve({
          child,
          send: (message) =>
            new Promise((done) => {
              waiting.push(done);
              child.stdin.write(JSON.stringify(message) + '\n');
            }),
        });
        return;
      }
      waiting.shift()?.(m);
    });
  });
}

function call(agent: Agent, method: string, path: string, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: 17393, method, path, agent, rejectUnauthorized: false, headers: { authorization: auth } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function latency(root: string): Promise<void> {
  await setRecord(root, 'configuration', 'api', 'service', { status: 'enabled', ListenAddress: '127.0.0.1', TCPPort: '17393' });
  console.log(`load average at start: ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores shared)`);
  await makeSelfSignedCertificate(join(root, 'etc/gatehouse/api/tls.crt'), join(root, 'etc/gatehouse/api/tls.key'), ['127.0.0.1']);
  await setRecord(root, 'apiusers', 'bench', 'user', { PasswordHash: await hashPassword('bench-password') });
  // The API in its own process, as the service runs it; the clients here.
  const api = spawn(process.execPath, [join(projectDir(), 'bin/gatehouse.js'), 'api', '--root', root, '--apply', `netns:${ns.gw}`], {
    env: { ...process.env, GATEHOUSE_TRACE_BATCHES: '1' },
  });
  let trace = '';
  api.stdout.resume();
  await new Promise<void>((resolve, reject) => {
    api.stderr.on('data', (c: Buffer) => {
      trace += c.toString();
      if (trace.includes('listening on')) resolve();
    });
    api.once('exit', (code) => reject(new Error(`gatehouse api exited (${String(code)}): ${trace}`)));
  });
  const auth = 'Basic ' + Buffer.from('bench:bench-password').toString('base64');
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const [echo, prober] = await Promise.all([startProber(ns.lan), startProber(ns.inet)]);
  try {
    await echo.send({ op: 'echo', port: 7 });
    // Open every client's connection (and check its login) before measuring.
    await Promise.all(sources.map(() => call(agent, 'GET', '/v1/status', auth)));
    const drops: number[] = [];
    const answers: number[] = [];
    let lost = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await prober.send({ op: 'stream', sources, to: '192.168.1.10', port: 7, everyMs: PROBE_EVERY_MS });
      await new Promise((r) => setTimeout(r, 300));
      const started = new Map<string, bigint>();
      const codes = await Promise.all(
        sources.map(async (s) => {
          started.set(s, process.hrtime.bigint());
          const code = await call(agent, 'PUT', `/drop/forward/any/${s}`, auth);
          answers.push(Number(process.hrtime.bigint() - started.get(s)!) / 1e6);
          return code;
        }),
      );
      if (codes.some((c) => c !== 200)) throw new Error(`a block request failed: ${codes.filter((c) => c !== 200).join(', ')}`);
      await new Promise((r) => setTimeout(r, 400));
      const { results } = (await prober.send({ op: 'stop' })) as { results: { source: string; firstUnanswered: string | null }[] };
      for (const r of results) {
        if (r.firstUnanswered === null) {
          lost++;
          continue;
        }
        drops.push(Math.max(0, Number(BigInt(r.firstUnanswered) - started.get(r.source)!) / 1e6));
      }
      await Promise.all(sources.map((s) => call(agent, 'DELETE', `/drop/forward/any/${s}`, auth)));
    }
    console.log(`request to dropped packet, ${CLIENTS} concurrent HTTPS clients x ${ROUNDS} rounds (probe every ${PROBE_EVERY_MS} ms: an upper bound):`);
    console.log(`  p50 ${percentile(drops, 50).toFixed(1)} ms, p99 ${percentile(drops, 99).toFixed(1)} ms, max ${Math.max(...drops).toFixed(1)} ms (goal p99 <= 20 ms)${lost ? `; ${lost} probes never answered` : ''}`);
    // Inside the API: from a request's arrival in the kernel queue to the kernel's answer.
    const inside: number[] = [];
    for (const m of trace.matchAll(/kernel batch (\d+): ([\d.]+) ms; waited ([\d.]+) ms/g)) {
      for (let i = 0; i < Number(m[1]); i++) inside.push(Number(m[2]) + Number(m[3]));
    }
    const batches = [...trace.matchAll(/kernel batch/g)].length;
    console.log(`  inside the API, queue to kernel done: p50 ${percentile(inside, 50).toFixed(1)} ms, p99 ${percentile(inside, 99).toFixed(1)} ms (${batches} kernel batches for ${ROUNDS * CLIENTS * 2} changes)`);
    console.log(`  request to response: p50 ${percentile(answers, 50).toFixed(1)} ms, p99 ${percentile(answers, 99).toFixed(1)} ms (kernel, then database write, then answer)`);
  } finally {
    echo.child.kill();
    prober.child.kill();
    agent.destroy();
    api.kill('SIGTERM');
  }
}

/** CPU ms of this process and its waited-for children (/proc/self/stat: utime, stime, cutime, cstime; 100 ticks a second). */
function cpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((n, i) => n + Number(fields[i]), 0) * 10;
}

/** Median wall ms and mean CPU ms (the kernel counts CPU in 10 ms ticks: a mean over the runs resolves less) of `runs` runs of `action`. */
async function measure(runs: number, action: (i: number) => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    await action(i);
    walls.push(performance.now() - t0);
    cpus.push(cpuMs() - c0);
  }
  return { wall: percentile(walls, 50), cpu: cpus.reduce((a, b) => a + b, 0) / runs };
}

const fmt = (m: { wall: number; cpu: number }) => `${Math.round(m.wall)} ms wall / ${m.cpu < 20 ? m.cpu.toFixed(1) : Math.round(m.cpu)} ms CPU`;

async function iperf(seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', ns.lan, 'iperf3', '-s', '-1']);
  await new Promise((r) => setTimeout(r, 300));
  const r = await execa('ip', ['netns', 'exec', ns.inet, 'iperf3', '-c', '192.168.1.10', '-t', String(seconds), '-J']);
  server.kill();
  const json = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return json.end.sum_received.bits_per_second / 1e9;
}

async function load(root: string): Promise<void> {
  const db: Database = {};
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < ENTRIES; i++) {
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
    db[`drop/forward/any/${address}`] = { type: 'entry', props: { Action: 'drop', Chain: 'forward', Interface: 'any', Address: address, Created: String(now) } };
  }
  await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true });
  await writeFile(databaseFile(root, 'blocklist'), serializeDatabase(db));
  const before = await iperf(3);
  // The parts of a start, measured apart: reading the database, then the kernel load alone.
  const r0 = performance.now();
  const read = await readEntries(root);
  const readMs = performance.now() - r0;
  const k0 = performance.now();
  await createBlocklistKernel({ kind: 'netns', name: ns.gw }).load(read.entries.map((entry) => ({ entry })));
  const kernelMs = performance.now() - k0;
  console.log(`load average before the 100,000-entry figures: ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores shared)`);
  // API start, 5 times (the last one stays up): database read and check, kernel load, no journal to merge.
  let blocklist: Blocklist | undefined;
  global.gc?.();
  const heap0 = process.memoryUsage();
  const start = await measure(5, async () => {
    blocklist?.stop();
    blocklist = new Blocklist({ root, kernel: createBlocklistKernel({ kind: 'netns', name: ns.gw }), whitelist: () => [] });
    await blocklist.start();
  });
  const ms = start.wall;
  global.gc?.();
  const heap1 = process.memoryUsage();
  const sets = await execa('ip', ['netns', 'exec', ns.gw, 'ipset', 'list', '-t', 'ghbl-drop-forward-4']);
  const size = /Size in memory: (\d+)/.exec(sets.stdout)?.[1];
  const count = /Number of entries: (\d+)/.exec(sets.stdout)?.[1];
  console.log(`${ENTRIES.toLocaleString('en')} entries: API start loads them in ${Math.round(ms)} ms (5 runs: median wall, mean CPU of this process and its children: ${fmt(start)}; apart: database read and check ${Math.round(readMs)} ms, one ipset restore and swap ${Math.round(kernelMs)} ms); kernel set ${count} entries, ${(Number(size) / 1e6).toFixed(1)} MB; API heap +${((heap1.heapUsed - heap0.heapUsed) / 1e6).toFixed(1)} MB, rss +${((heap1.rss - heap0.rss) / 1e6).toFixed(1)} MB`);
  // A batch against the full database: what each request pays once the list is large.
  const request = await measure(7, (i) => blocklist!.add({ action: 'drop', chain: 'forward', interface: 'any', family: 4, address: `10.200.0.${i + 1}/32` }));
  // The baseline, same run: the whole-file write every request used to pay (a locked read, one record more, an atomic rewrite).
  await updateDatabase(root, 'blocklist', () => undefined);
  const whole = await measure(5, (i) =>
    updateDatabase(root, 'blocklist', (db) => {
      const address = `10.201.0.${i + 1}/32`;
      db[`drop/forward/any/${address}`] = { type: 'entry', props: { Action: 'drop', Chain: 'forward', Interface: 'any', Address: address, Created: String(now) } };
    }),
  );
  console.log(`one block request with ${ENTRIES.toLocaleString('en')} entries in the database: ${fmt(request)} (7 runs: median wall, mean CPU; the database write is a journal append); the whole-file write it replaces, same run: ${fmt(whole)} (5 runs)`);
  // A start with a journal left behind: the kernel load as above, then the merge (a whole write) in the database queue.
  await measure(1, (i) => blocklist!.add({ action: 'drop', chain: 'forward', interface: 'any', family: 4, address: `10.202.0.${i + 1}/32` }));
  blocklist!.stop();
  blocklist = new Blocklist({ root, kernel: createBlocklistKernel({ kind: 'netns', name: ns.gw }), whitelist: () => [] });
  let merged = 0;
  const withJournal = await measure(1, async () => {
    await blocklist!.start();
    const t = performance.now();
    await blocklist!.settled();
    merged = performance.now() - t;
  });
  console.log(`API start with a journal left: ${fmt(withJournal)} (one run), of which ${Math.round(merged)} ms the journal merge after the kernel load (requests are served meanwhile)`);
  const after = await iperf(3);
  blocklist!.stop();
  console.log(`throughput inet -> lan through gw (iperf3 TCP, 3 s): ${before.toFixed(2)} Gbit/s with 0 entries, ${after.toFixed(2)} Gbit/s with ${ENTRIES.toLocaleString('en')} (${(((after - before) / before) * 100).toFixed(1)}%)`);
}

const root = await mkdtemp(join(tmpdir(), 'gatehouse-bench-api-'));
try {
  await setupLab();
  if (process.env['BENCH_API'] !== 'load') await latency(root);
  await rm(databaseFile(root, 'blocklist'), { force: true });
  await rm(`${databaseFile(root, 'blocklist').slice(0, -5)}.journal`, { force: true });
  if (process.env['BENCH_API'] !== 'latency') await load(root);
} finally {
  await destroyLab();
  await rm(root, { recursive: true, force: true });
}
