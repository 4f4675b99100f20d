/**
 * API benchmark (needs root): three namespaces, an internet side (inet, with 100 probe
 * addresses), the gateway (gw) forwarding to a LAN host (lan). gw holds only the
 * blocklist chains and sets (src/compile/blocklist.ts), so what is measured is the
 * blocklist itself. The API runs in its own process, as the service does.
 *
 * 1. Request to dropped packet: each of 100 probe addresses sends a UDP probe through
 *    gw to lan every few ms (the sources spread evenly over the interval; the kernel counts
 *    them, see ProbeCounters, so the probes take little of the CPU the API needs); 100 HTTPS
 *    clients each PUT /drop/forward/any/<its address> at once; the drop time is when the
 *    first probe that did not arrive was sent (an upper bound: the probe gap around the
 *    drop is printed). The clients run in one process first (the conservative figure:
 *    one thread serialising and encrypting 100 requests), then in 4 (a fleet is 100
 *    machines), then undici's and lean TLS clients in one (BENCH_API_SETUPS chooses);
 *    each time beside the whole figure (from the burst's start in its client: every
 *    request of a burst counts from that instant, its wait behind the others included)
 *    the figure from when its bytes were sent, the API's own share (from its
 *    trace, GATEHOUSE_TRACE_REQUESTS), the ipset batches and the CPU of every process.
 *    Keep-alive connections, opened before, as a fleet's are; then a burst where each
 *    request opens its own connection (a full TLS handshake, as curl per request).
 *    A first, cold burst right after the API started is reported apart.
 *    BENCH_API_CPU_PROF=DIR writes a CPU profile of the API and the bursts' times there;
 *    BENCH_API_KEY_TYPE=rsa uses an RSA 2048 certificate instead of ECDSA P-256;
 *    BENCH_API_BIN=PATH/bin/gatehouse.js serves with another build (before/after).
 * 2. 100,000 entries: load time into the kernel at API start (database read, ipset
 *    restore, swap), process memory and the kernel set's memory; one block request
 *    against them (its database write is a journal append), beside the whole-file write
 *    every request used to pay (measured in the same run); the start with a journal
 *    left, and the merge it starts. Wall and CPU (this process and its children).
 *    BENCH_API=load runs only this part and 3, BENCH_API=latency only 1.
 *    Then `gatehouse api` as typed, its own process: until it listens with the entries in
 *    force, its memory then, and as shipped until it has warmed up.
 * 3. Throughput lan <- inet through gw (iperf3, TCP, median of 3 runs of 3 s) with 0 and
 *    100,000 entries.
 * 4. BENCH_API=cpu (only this): the server's CPU per request in its own process
 *    (process.cpuUsage), less sensitive to a shared machine than wall times: the API's
 *    server and blocklist with the real journal, over a kernel that answers each batch
 *    on the next turn (ipset runs in another process), against bare fastify with the
 *    same TLS certificate and route shape (the floor), alternated; 100 keep-alive
 *    clients in another process, bursts of 100 PUTs then 100 DELETEs.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { Blocklist, createBlocklistKernel, hashPassword, makeSelfSignedCertificate, readEntries, usersReader } from '../src/api/index.js';
import { withBlocklist } from '../src/compile/blocklist.js';
import { emitRuleset } from '../src/compile/index.js';
import { TableBuilder } from '../src/compile/ir.js';
import { databaseFile, serializeDatabase, setRecord, updateDatabase, type Database } from '../src/db/index.js';
import { projectDir } from '../src/layout/index.js';

const CLIENTS = 100;
/** Bursts per configuration of the clients, after one cold burst. */
const ROUNDS = Number(process.env['BENCH_API_ROUNDS'] ?? 5);
type ClientKind = 'https' | 'undici' | 'tls';
/** Requests each client process sends the benchmark's own server before it is measured (V8 warms its code). */
const CLIENT_WARM_UP = 4000;
/** What the benchmark's own server answers the clients' warm-up: an answer of the API's size. */
const WARM_ANSWER = JSON.stringify({ result: 'added', changed: true, entry: { key: 'drop/forward/any/192.0.2.1/32', action: 'drop', chain: 'forward', interface: 'any', address: '192.0.2.1/32', family: 4, created: new Date(0).toISOString(), expires: null, expiresIn: null } });
/**
 * Client processes and their HTTP client: node:https in one process (the conservative figure: one
 * thread serialising and encrypting 100 requests on the gateway's own two cores), spread over 4 as a
 * fleet is, then undici's Client and lean TLS connections (bench/_api-clients.mjs) in one process
 * (leaner clients: a fleet's clients run elsewhere and cost the gateway nothing, so the less CPU the
 * stand-ins take from it, the closer to a real fleet). BENCH_API_SETUPS=1:https,1:tls picks some.
 */
const CLIENT_SETUPS: [number, ClientKind][] = process.env['BENCH_API_SETUPS']
  ? process.env['BENCH_API_SETUPS'].split(',').map((setup) => {
      const [count, kind] = setup.split(':');
      if (!['https', 'undici', 'tls'].includes(kind ?? '') || !(Number(count) >= 1 && CLIENTS % Number(count) === 0)) {
        throw new Error(`BENCH_API_SETUPS: "${setup}" is not PROCESSES:KIND (PROCESSES dividing 100, KIND https, undici or tls)`);
      }
      return [Number(count), kind as ClientKind];
    })
  : [
      [1, 'https'],
      [4, 'https'],
      [1, 'undici'],
      [1, 'tls'],
    ];
const PROBE_EVERY_MS = Number(process.env['BENCH_API_PROBE_MS'] ?? 4);
/** A port free now (another benchmark may be running on this machine at the same time). */
const PORT = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as AddressInfo;
    probe.close(() => resolve(port));
  });
});
/** The certificate's key: `gatehouse api --make-cert`'s default (ec), or BENCH_API_KEY_TYPE=rsa. */
const KEY_TYPE = process.env['BENCH_API_KEY_TYPE'] === 'rsa' ? 'rsa' : 'ec';
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
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
  await ProbeCounters.setUp();
}

async function destroyLab(): Promise<void> {
  for (const n of Object.values(ns)) await execa('ip', ['netns', 'del', n], { reject: false });
}

interface Helper {
  child: ChildProcessWithoutNullStreams;
  send(message: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** One of the benchmark's helper scripts (bench/_api-*.mjs), in a namespace or here; one JSON line per command and answer. */
function startHelper(script: string, args: string[], namespace?: string): Promise<Helper> {
  const node = [process.execPath, join(projectDir(), 'bench', script), ...args];
  const child = namespace ? spawn('ip', ['netns', 'exec', namespace, ...node]) : spawn(node[0]!, node.slice(1));
  const lines = createInterface({ input: child.stdout });
  const waiting: ((m: Record<string, unknown>) => void)[] = [];
  let errors = '';
  child.stderr.on('data', (c: Buffer) => (errors += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited (${String(code)}): ${errors}`)));
    lines.on('line', (line) => {
      const m = JSON.parse(line) as Record<string, unknown>;
      if (m['ready']) {
        resolve({
          child,
          send: (message) =>
            new Promise((done, fail) => {
              waiting.push((answer) => (answer['ok'] ? done(answer) : fail(new Error(`${script}: ${String(answer['error'])}`))));
              child.stdin.write(JSON.stringify(message) + '\n');
            }),
        });
        return;
      }
      waiting.shift()?.(m);
    });
  });
}

/** CPU time (user + system) of a process so far, in ms. */
/** The main thread's time on a CPU and waiting for one (runnable, not running), ms (/proc/PID/schedstat). */
function schedOf(pid: number): { ran: number; waited: number } {
  const [ran, waited] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { ran: ran! / 1e6, waited: waited! / 1e6 };
}

function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

const ns2ms = (a: string | bigint, b: string | bigint) => Number(BigInt(a) - BigInt(b)) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Timing {
  call: string;
  sending: string;
  written: string;
  answered: string;
  status: number;
}

/** One ipset batch of a burst's blocks: its lines, and its time from writing them to ipset's last prompt. */
interface Batch {
  lines: number;
  ms: number;
}

/** What one request did, in ms from its start in its client. */
interface Sample {
  /** The probe bounds of the drop: the last probe through and the first one dropped. */
  lastThrough: number;
  drop: number;
  /** When its bytes were about to be written, and when its handler began (the API's trace). */
  sending: number;
  received: number;
  /** When ipset had done its batch (as the API saw it), and when the answer arrived. */
  kernelDone: number;
  answered: number;
  /** Time between its two probes around the drop: how loose the bound is. */
  probeGap: number;
  /** Which burst it was in (a running count). */
  burst: number;
}

function summary(values: number[]): string {
  values = values.filter((v) => !Number.isNaN(v));
  if (values.length === 0) return 'n/a (no trace from this build)';
  return `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;
}

/**
 * The probes are counted by the kernel, no process receives them: per source, the packets that
 * reached gw (its raw PREROUTING) and those that passed it (lan's raw PREROUTING, where they are
 * then dropped), as element counters of two ipsets. A Node sink took a quarter of a core at
 * 25,000 probes a second, CPU the API under test needs.
 */
class ProbeCounters {
  private base = { arrived: new Map<string, number>(), passed: new Map<string, number>() };

  static async setUp(): Promise<void> {
    for (const [namespace, set, target] of [
      [ns.gw, 'ghb-probes-arrived', []],
      [ns.lan, 'ghb-probes-passed', ['-j', 'DROP']],
    ] as const) {
      await execa('ip', ['netns', 'exec', namespace, 'ipset', 'restore'], { input: [`create ${set} hash:ip counters`, ...sources.map((s) => `add ${set} ${s}`)].join('\n') + '\n' });
      await execa('ip', ['netns', 'exec', namespace, 'iptables', '-t', 'raw', '-A', 'PREROUTING', '-m', 'set', '--match-set', set, 'src', ...target]);
    }
  }

  private static async count(namespace: string, set: string): Promise<Map<string, number>> {
    const { stdout } = await execa('ip', ['netns', 'exec', namespace, 'ipset', 'list', set]);
    return new Map([...stdout.matchAll(/^(\S+) packets (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  }

  private async now() {
    const [arrived, passed] = await Promise.all([ProbeCounters.count(ns.gw, 'ghb-probes-arrived'), ProbeCounters.count(ns.lan, 'ghb-probes-passed')]);
    return { arrived, passed };
  }

  /** From now on, reads count from zero. */
  async reset(): Promise<void> {
    this.base = await this.now();
  }

  /** Per source, the probes that reached gw and those that passed it since the last reset. */
  async read(): Promise<{ arrived: Map<string, number>; passed: Map<string, number> }> {
    const now = await this.now();
    const since = (m: Map<string, number>, b: Map<string, number>) => new Map([...m].map(([k, v]) => [k, v - (b.get(k) ?? 0)]));
    return { arrived: since(now.arrived, this.base.arrived), passed: since(now.passed, this.base.passed) };
  }
}

/** Sources left out of a burst because a probe was lost before gw (their count would undercount). */
let lostOnTheWay = 0;
let burstCount = 0;
/** The API main thread's CPU in each burst's PUTs (ms), by burst. */
const burstMain: number[] = [];

async function latency(root: string): Promise<void> {
  await makeSelfSignedCertificate(join(root, 'etc/gatehouse/api/tls.crt'), join(root, 'etc/gatehouse/api/tls.key'), ['127.0.0.1'], 30, KEY_TYPE);
  await setRecord(root, 'apiusers', 'bench', 'user', { PasswordHash: await hashPassword('bench-password') });
  // The API in its own process, as the service runs it; the clients in others.
  // BENCH_API_CPU_PROF=DIR: a CPU profile of the API process there, and the bursts' times (bursts.json).
  const profile = process.env['BENCH_API_CPU_PROF'];
  let trace = '';
  let warmUpLine = '';
  /** Starts the API (`warmUp`: its configuration api WarmUpRequests; undefined: as shipped), once it listens. */
  const startApi = async (warmUp?: number) => {
    const settings: Record<string, string> = { status: 'enabled', ListenAddress: '127.0.0.1', TCPPort: String(PORT) };
    if (warmUp !== undefined) settings['WarmUpRequests'] = String(warmUp);
    await setRecord(root, 'configuration', 'api', 'service', settings);
    const child = spawn(process.execPath, [...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []), ...(process.env['BENCH_API_NODE_FLAGS']?.split(' ').filter(Boolean) ?? []), process.env['BENCH_API_BIN'] ?? join(projectDir(), 'bin/gatehouse.js'), 'api', '--root', root, '--apply', `netns:${ns.gw}`], {
      env: { ...process.env, GATEHOUSE_TRACE_REQUESTS: '1' },
    });
    trace = '';
    if (process.env['BENCH_API_NODE_FLAGS']) child.stdout.on('data', (c: Buffer) => process.stderr.write(`[api ${(performance.now() / 1000).toFixed(3)}] ${c.toString()}`));
    else child.stdout.resume();
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        trace += c.toString();
        if (trace.includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`gatehouse api exited (${String(code)}): ${trace}`)));
    });
    warmUpLine = /^gatehouse api: (warmed up .*|the warm-up failed.*)$/m.exec(trace)?.[1] ?? 'no warm-up (WarmUpRequests 0)';
    return child;
  };
  const stopApi = async (child: ChildProcessWithoutNullStreams) => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  let api = await startApi();
  // The clients warm up against this server of the benchmark's own, never against the API (see _api-clients.mjs).
  const warmServer = createHttpsServer({ key: readFileSync(join(root, 'etc/gatehouse/api/tls.key')), cert: readFileSync(join(root, 'etc/gatehouse/api/tls.crt')) }, (request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(WARM_ANSWER) }).end(WARM_ANSWER));
  });
  const warmPort = await new Promise<number>((resolve) => warmServer.listen(0, '127.0.0.1', () => resolve((warmServer.address() as AddressInfo).port)));
  const auth = 'Basic ' + Buffer.from('bench:bench-password').toString('base64');
  const prober = await startHelper('_api-prober.mjs', [], ns.inet);
  const helpers: Helper[] = [prober];
  const probeCounts = new ProbeCounters();
  /** Each burst's PUTs, from firing them to their last answer, in µs of CLOCK_MONOTONIC (the clock of V8's CPU profiles). */
  const bursts: [number, number][] = [];
  try {
    const cpu = () => ({ apiMain: schedOf(api.pid!), api: cpuOf(api.pid!), probes: cpuOf(prober.child.pid!), clients: helpers.slice(1).reduce((t, h) => t + cpuOf(h.child.pid!), 0), at: performance.now() });

    /** One burst: every source's client blocks it at once; then they are unblocked. */
    const burst = async (groups: { clients: Helper; sources: string[] }[], fresh = false): Promise<{ samples: Sample[]; batches: Batch[] }> => {
      await probeCounts.reset();
      await prober.send({ op: 'stream', sources, to: '192.168.1.10', port: 7, everyMs: PROBE_EVERY_MS });
      // Until a probe of every source has gone through (a loaded machine can hold the prober back).
      for (let waited = 0; ; waited += 10) {
        await sleep(10);
        const { passed } = await probeCounts.read();
        if (sources.every((s) => (passed.get(s) ?? 0) >= 2)) break;
        if (waited > 2000) throw new Error('the probes do not go through gw before the block');
      }
      const mainBefore = schedOf(api.pid!).ran;
      const firedAt = process.hrtime.bigint();
      const fired = await Promise.all(groups.map((g) => g.clients.send({ op: 'fire', method: 'PUT', fresh, paths: g.sources.map((s) => `/drop/forward/any/${s}`) })));
      bursts.push([Number(firedAt / 1000n), Number(process.hrtime.bigint() / 1000n)]);
      if (process.env['BENCH_API_NODE_FLAGS']) process.stderr.write(`[bench ${(performance.now() / 1000).toFixed(3)}] burst fired ${(Number(process.hrtime.bigint() - firedAt) / 1e6).toFixed(1)} ms ago, answered now\n`);
      await sleep(30);
      const { sent } = (await prober.send({ op: 'stop' })) as unknown as { sent: Record<string, string[]> };
      burstMain.push(schedOf(api.pid!).ran - mainBefore);
      await sleep(20);
      const counted = await probeCounts.read();
      // Probes pass gw in the order sent: the count that passed is the sequence number of the first dropped one,
      // if none was lost on the way to gw (then the count would undercount: such a source is left out, and said).
      const seen: Record<string, number> = {};
      for (const source of sources) {
        if (counted.arrived.get(source) === sent[source]!.length) seen[source] = (counted.passed.get(source) ?? 0) - 1;
        else lostOnTheWay++;
      }
      await Promise.all(groups.map((g) => g.clients.send({ op: 'fire', method: 'DELETE', paths: g.sources.map((s) => `/drop/forward/any/${s}`) })));
      await sleep(300); // the API writes its trace lines 250 ms after they are made
      const received = new Map<string, string>();
      for (const m of trace.matchAll(/^trace request (.*)$/gm)) {
        const r = JSON.parse(m[1]!) as { method: string; url: string; received: string };
        if (r.method === 'PUT') received.set(r.url, r.received);
      }
      const kernelDone = new Map<string, string>();
      const batches: Batch[] = [];
      for (const m of trace.matchAll(/^trace kernel (.*)$/gm)) {
        const k = JSON.parse(m[1]!) as { sent: string; done: string; lines: string[] };
        if (!k.lines[0]?.startsWith('add ')) continue;
        batches.push({ lines: k.lines.length, ms: ns2ms(k.done, k.sent) });
        for (const line of k.lines) kernelDone.set(line.split(' ')[3]!.replace(/\/32$/, ''), k.done);
      }
      trace = trace.replace(/^trace .*\n/gm, '');
      const samples: Sample[] = [];
      burstCount++;
      groups.forEach((g, i) => {
        const results = (fired[i] as unknown as { results: Record<string, Timing> }).results;
        for (const source of g.sources) {
          const path = `/drop/forward/any/${source}`;
          const t = results[path]!;
          if (t.status !== 200) throw new Error(`PUT ${path} answered ${t.status}`);
          const probes = sent[source]!;
          if (!(source in seen)) continue;
          const last = seen[source]!;
          if (last < 0) throw new Error(`no probe from ${source} went through before the block`);
          if (last + 1 >= probes.length) throw new Error(`${source} was never dropped (its last probe went through)`);
          samples.push({
            lastThrough: ns2ms(probes[last]!, t.call),
            drop: ns2ms(probes[last + 1]!, t.call),
            sending: ns2ms(t.sending, t.call),
            received: received.has(path) ? ns2ms(received.get(path)!, t.call) : NaN,
            kernelDone: kernelDone.has(source) ? ns2ms(kernelDone.get(source)!, t.call) : NaN,
            answered: ns2ms(t.answered, t.call),
            probeGap: ns2ms(probes[last + 1]!, probes[last]!),
            burst: burstCount,
          });
        }
      });
      // BENCH_API_SAMPLES=FILE: each burst's samples as a JSON line there (ms from the burst's start in the request's client).
      if (process.env['BENCH_API_SAMPLES']) appendFileSync(process.env['BENCH_API_SAMPLES'], JSON.stringify(samples) + '\n');
      return { samples, batches };
    };

    /** `count` client processes sharing the sources, their connections open. */
    const clientsOf = async (count: number, kind: ClientKind = 'https') => {
      const groups: { clients: Helper; sources: string[] }[] = [];
      for (let i = 0; i < count; i++) {
        const clients = await startHelper('_api-clients.mjs', [JSON.stringify({ host: '127.0.0.1', port: PORT, auth })]);
        helpers.push(clients);
        const mine = sources.filter((_, j) => j % count === i);
        await clients.send({ op: 'warm', port: warmPort, count: mine.length, rounds: Math.ceil(CLIENT_WARM_UP / (2 * mine.length)), kind });
        await clients.send({ op: 'open', count: mine.length, path: '/v1/status', kind });
        groups.push({ clients, sources: mine });
      }
      return groups;
    };

    const report = (title: string, { samples, batches }: { samples: Sample[]; batches: Batch[] }, bursts: number, use: { at: number; api: number; clients: number; probes: number; apiRan: number; apiWaited: number }) => {
      console.log(title);
      console.log(`  request to dropped packet (from the burst's start in its client):   ${summary(samples.map((s) => s.drop))}`);
      console.log(`  from when its bytes were sent to the server (a fleet's view):        ${summary(samples.map((s) => s.drop - s.sending))}`);
      if (bursts > 1) {
        const per = [...new Set(samples.map((s) => s.burst))].map((b) => samples.filter((s) => s.burst === b));
        console.log(`  each burst's p99, in order (from the burst's start):                 ${per.map((b) => percentile(b.map((s) => s.drop), 99).toFixed(1)).join(', ')} ms`);
        console.log(`  the API main thread's CPU in each burst's PUTs, in order:             ${per.map((b) => burstMain[b[0]!.burst - 1]!.toFixed(1)).join(', ')} ms`);
      }
      console.log(`  lower bound (the last probe that went through):                      ${summary(samples.map((s) => s.lastThrough))}`);
      console.log(`  probe gap around the drop (how loose the bound is):                  ${summary(samples.map((s) => s.probeGap))}`);
      console.log(`  inside the API, its handler began to ipset done:                     ${summary(samples.map((s) => s.kernelDone - s.received))}`);
      console.log(`  waiting before its handler began (after its bytes were sent):        ${summary(samples.map((s) => s.received - s.sending))}`);
      console.log(`  request to response (kernel, then database write, then answer):      ${summary(samples.map((s) => s.answered))}`);
      if (batches.length > 0) console.log(`  ipset batches: ${(batches.length / bursts).toFixed(1)} per burst of ${CLIENTS}, ${(batches.reduce((t, b) => t + b.lines, 0) / batches.length).toFixed(1)} lines each on average; time in ipset per batch ${summary(batches.map((b) => b.ms))}`);
      console.log(`  the API's main thread, per burst (PUTs and DELETEs): ${(use.apiRan / bursts).toFixed(1)} ms on a CPU, ${(use.apiWaited / bursts).toFixed(1)} ms runnable but waiting for one`);
      if (lostOnTheWay > 0) console.log(`  left out: ${lostOnTheWay} source-bursts whose probes were not all counted at gw (a probe lost before it)`);
      lostOnTheWay = 0;
      console.log(`  CPU over ${(use.at / 1000).toFixed(1)} s of wall: API ${use.api.toFixed(0)} ms (${((use.api * 1000) / (bursts * CLIENTS * 2)).toFixed(0)} µs per request, PUT and DELETE), clients ${use.clients.toFixed(0)} ms, probes (sender) ${use.probes.toFixed(0)} ms; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    };
    const used = (before: ReturnType<typeof cpu>) => {
      const after = cpu();
      return { at: after.at - before.at, api: after.api - before.api, clients: after.clients - before.clients, probes: after.probes - before.probes, apiRan: after.apiMain.ran - before.apiMain.ran, apiWaited: after.apiMain.waited - before.apiMain.waited };
    };

    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores shared); ${CLIENTS} clients, one keep-alive HTTPS connection each; each source probed every ${PROBE_EVERY_MS} ms, the drop time is the first dropped probe (an upper bound)`);
    // What the API process is charged while no request comes, the probes flowing through gw (softirq work can land on it).
    {
      await prober.send({ op: 'stream', sources, to: '192.168.1.10', port: 7, everyMs: PROBE_EVERY_MS });
      const i0 = cpu();
      await sleep(1000);
      const idle = used(i0);
      await prober.send({ op: 'stop' });
      console.log(`idle, probes flowing for ${(idle.at / 1000).toFixed(1)} s: API ${idle.api.toFixed(0)} ms CPU, probe sender ${idle.probes.toFixed(0)} ms`);
    }
    const single = await clientsOf(1);
    console.log(`the API as shipped: ${warmUpLine}; the client processes warm up against a server of the benchmark's own first (${CLIENT_WARM_UP} requests each)`);
    let c0 = cpu();
    const first = await burst(single);
    report(`first burst after the API started, 1 client process:`, first, 1, used(c0));
    const measure = async (groups: { clients: Helper; sources: string[] }[], fresh = false) => {
      const all = { samples: [] as Sample[], batches: [] as Batch[] };
      for (let round = 0; round < ROUNDS; round++) {
        const one = await burst(groups, fresh);
        all.samples.push(...one.samples);
        all.batches.push(...one.batches);
      }
      return all;
    };
    // BENCH_API_QUICK=1: this first setup only (quicker comparisons while working on the API).
    const quick = Boolean(process.env['BENCH_API_QUICK']);
    let spread = single;
    for (const [count, kind] of quick ? CLIENT_SETUPS.slice(0, 1) : CLIENT_SETUPS) {
      const groups = count === 1 && kind === 'https' ? single : await clientsOf(count, kind);
      if (count > 1 && kind === 'https') spread = groups;
      c0 = cpu();
      const measured = await measure(groups);
      const what = kind === 'https' ? '' : `, ${kind} clients`;
      report(`${ROUNDS} bursts of ${CLIENTS} requests, ${count} client process${count === 1 ? '' : 'es'} (${CLIENTS / count} connections each${what})${count === 1 && kind === 'https' ? ': the conservative figure' : ''}:`, measured, ROUNDS, used(c0));
    }
    // The same clients with the stand-ins (clients and probe sender) on one core and the API (with its ipset
    // process) on the other: a fleet's clients and the hosts being blocked are other machines, whose CPU is not the
    // gateway's. Beside the conservative figure above, never instead of it.
    if (cpus().length >= 2) {
      const pin = (pids: number[], cpu: string) => {
        for (const pid of pids) spawnSync('taskset', ['-a', '-cp', cpu, String(pid)], { stdio: 'ignore' });
      };
      const descendants = (pid: number): number[] => {
        const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
        return [pid, ...children.flatMap(descendants)];
      };
      const apiSide = descendants(api.pid!);
      const standIns = [prober, ...single.map((g) => g.clients)].flatMap((h) => descendants(h.child.pid!));
      pin(apiSide, '0');
      pin(standIns, '1');
      try {
        c0 = cpu();
        const measured = await measure(single);
        report(`${ROUNDS} bursts of ${CLIENTS} requests, 1 client process, the API and its ipset process on core 0, the clients and probes on core 1:`, measured, ROUNDS, used(c0));
      } finally {
        const all = `0-${cpus().length - 1}`;
        pin([...apiSide, ...standIns], all);
      }
    }
    if (quick) return;
    // Clients that connect for each request (curl run per request): a full TLS handshake each.
    c0 = cpu();
    const fresh = await measure(spread, true);
    report(`${ROUNDS} bursts of ${CLIENTS} requests, each on a new connection (a full TLS handshake, ${KEY_TYPE === 'ec' ? 'ECDSA P-256' : 'RSA 2048'} certificate), ${spread.length} client processes:`, fresh, ROUNDS, used(c0));
    // The same, restarted without its warm-up: what the warm-up buys a burst right after a start.
    await stopApi(api);
    api = await startApi(0);
    await single[0]!.clients.send({ op: 'open', count: CLIENTS, path: '/v1/status' });
    c0 = cpu();
    const cold = await burst(single);
    report(`the API restarted with WarmUpRequests 0 (a cold JIT): first burst, 1 client process:`, cold, 1, used(c0));
    c0 = cpu();
    const coldNext = await measure(single);
    report(`the API with WarmUpRequests 0: the ${ROUNDS} bursts after its first, 1 client process:`, coldNext, ROUNDS, used(c0));
  } finally {
    if (profile) writeFileSync(join(profile, 'bursts.json'), JSON.stringify(bursts));
    for (const h of helpers) h.child.kill();
    warmServer.close();
    await stopApi(api);
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

/** The median of three 3-second runs: one run varies by about 10% here. */
async function iperfMedian(): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await iperf(3));
  return runs.sort((a, b) => a - b)[1]!;
}

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
  const before = await iperfMedian();
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
  const after = await iperfMedian();
  blocklist!.stop();
  console.log(`throughput inet -> lan through gw (iperf3 TCP, median of 3 runs of 3 s): ${before.toFixed(2)} Gbit/s with 0 entries, ${after.toFixed(2)} Gbit/s with ${ENTRIES.toLocaleString('en')} (${(((after - before) / before) * 100).toFixed(1)}%)`);
  await startAsTyped(root);
}

/**
 * `gatehouse api` as the service runs it, a process of its own, with the 100,000 entries: from its start
 * until it says it listens, and its memory then. Without a warm-up that is when the entries are in force
 * and requests are served; as shipped the line comes after the warm-up (its socket already accepts
 * requests during it, from about the first figure on).
 */
async function startAsTyped(root: string): Promise<void> {
  await makeSelfSignedCertificate(join(root, 'etc/gatehouse/api/tls.crt'), join(root, 'etc/gatehouse/api/tls.key'), ['127.0.0.1'], 30, KEY_TYPE);
  await setRecord(root, 'apiusers', 'bench', 'user', { PasswordHash: await hashPassword('bench-password') });
  const once = async (warmUp: string | undefined): Promise<{ ms: number; rssMb: number }> => {
    await setRecord(root, 'configuration', 'api', 'service', { status: 'enabled', ListenAddress: '127.0.0.1', TCPPort: String(PORT), ...(warmUp !== undefined ? { WarmUpRequests: warmUp } : {}) });
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(projectDir(), 'bin/gatehouse.js'), 'api', '--root', root, '--apply', `netns:${ns.gw}`]);
    child.stdout.resume();
    let said = '';
    try {
      return await new Promise((resolve, reject) => {
        child.stderr.on('data', (c: Buffer) => {
          said += c.toString();
          if (!said.includes('listening on')) return;
          const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid!}/status`, 'utf8'))?.[1];
          resolve({ ms: performance.now() - t0, rssMb: Number(rss ?? 0) / 1024 });
        });
        child.once('exit', (code) => reject(new Error(`gatehouse api exited (${String(code)}): ${said}`)));
      });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  };
  const cold: { ms: number; rssMb: number }[] = [];
  for (let i = 0; i < 3; i++) cold.push(await once('0'));
  const shipped = await once(undefined);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `gatehouse api as typed (its own process, node's start included) with ${ENTRIES.toLocaleString('en')} entries: listening, the entries in force, after ${Math.round(median(cold.map((c) => c.ms)))} ms (3 runs, median; WarmUpRequests 0), rss ${Math.round(median(cold.map((c) => c.rssMb)))} MB then; as shipped, warmed up and saying so after ${Math.round(shipped.ms)} ms (one run; it serves from before the warm-up)`,
  );
}

/** Part 4: CPU per request of the server in this process, ours against bare fastify. */
async function cpuPerRequest(root: string): Promise<void> {
  const { buildServer } = await import('../src/api/server.js');
  const { default: Fastify } = await import('fastify');
  const certificate = join(root, 'tls.crt');
  const key = join(root, 'tls.key');
  await makeSelfSignedCertificate(certificate, key, ['127.0.0.1'], 30, KEY_TYPE);
  await setRecord(root, 'apiusers', 'bench', 'user', { PasswordHash: await hashPassword('bench-password') });
  // Older than the racy window (usersReader trusts a file only then), as a users database is between changes.
  const old = new Date(Date.now() - 5000);
  await utimes(databaseFile(root, 'apiusers'), old, old);
  const auth = 'Basic ' + Buffer.from('bench:bench-password').toString('base64');
  const paths = sources.map((s) => `/drop/forward/any/${s}`);
  const ROUNDS_CPU = 20;
  const one = async (bare: boolean): Promise<number> => {
    const kernel = { mode: { kind: 'dry-run' as const }, apply: () => new Promise<void>((r) => setImmediate(r)), rules: async () => {}, load: async () => {}, counters: async () => new Map(), close() {} };
    const blocklist = new Blocklist({ root, kernel, whitelist: () => [] });
    await blocklist.start();
    await blocklist.settled();
    let app;
    if (bare) {
      app = Fastify({ logger: false, https: { key: readFileSync(key), cert: readFileSync(certificate) } });
      const handler = async (request: { params: unknown }) => ({ result: 'added', changed: true, entry: { address: (request.params as Record<string, string>)['*'] } });
      app.put('/:action/:chain/*', handler);
      app.delete('/:action/:chain/*', handler);
      app.get('/v1/status', async () => ({}));
    } else {
      const settings = { enabled: true, listen: '127.0.0.1', port: 0, tls: true, certificate, key, allowedClients: ['127.0.0.1/32'], whitelist: [], failureLimit: 10, failureWindowSeconds: 60, warmUpRequests: 0 };
      // The users as the API reads them (usersReader: the apiusers database, known without waiting once read).
      app = await buildServer({ settings, blocklist, mode: { kind: 'dry-run' }, users: usersReader(root), adjust: async () => ({}) });
    }
    await app.listen({ host: '127.0.0.1', port: 0 });
    const clients = await startHelper('_api-clients.mjs', [JSON.stringify({ host: '127.0.0.1', port: (app.server.address() as AddressInfo).port, auth })]);
    try {
      await clients.send({ op: 'open', count: CLIENTS, path: '/v1/status' });
      const burst = async () => {
        await clients.send({ op: 'fire', method: 'PUT', paths });
        await clients.send({ op: 'fire', method: 'DELETE', paths });
      };
      for (let i = 0; i < 5; i++) await burst();
      const before = process.cpuUsage();
      for (let i = 0; i < ROUNDS_CPU; i++) await burst();
      const used = process.cpuUsage(before);
      return (used.user + used.system) / (ROUNDS_CPU * 2 * CLIENTS);
    } finally {
      clients.child.kill();
      await app.close();
      blocklist.stop();
    }
  };
  console.log(`server CPU per request in its own process (${ROUNDS_CPU} bursts of ${CLIENTS} PUTs and ${CLIENTS} DELETEs each, after 5; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}):`);
  for (let i = 0; i < 3; i++) {
    const ours = await one(false);
    const bare = await one(true);
    console.log(`  Gatehouse API ${ours.toFixed(0)} µs, bare fastify (TLS, same route shape, no auth, no blocklist) ${bare.toFixed(0)} µs`);
  }
}

const root = await mkdtemp(join(tmpdir(), 'gatehouse-bench-api-'));
if (process.env['BENCH_API'] === 'cpu') {
  try {
    await cpuPerRequest(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  process.exit(0);
}
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
