/**
 * End-to-end benchmark: `signal-event firewall-adjust` as an administrator types it (a new
 * process: expand, compile, apply into a namespace of its own), for three rule shapes and
 * growing databases, against `iptables-restore` of the same rules.v4 into an empty namespace
 * (the full-restore floor), measured in the same run and interleaved with it.
 *
 * Shapes (every one has rule 1, the probe's: green -> red tcp/7777, reject):
 * - objects: host objects and roles on both sides, fwservice objects;
 * - addresses: a different plain address on each side of every rule, a plain port;
 * - groups: host groups, CIDR and range objects on the source side, CIDR objects as destinations.
 * Every measured event follows a change to one rule (rule 2's verdict), so the IPv4 ruleset
 * is always reloaded; each run is measured with NODE_EXTRA_CA_CERTS in the environment (when
 * this environment has it, as on a box with a custom CA) and without it, interleaved.
 * Figures: wall and CPU time (user + system of the event and every process it started) and
 * peak RSS of the signal-event process, medians of RUNS; the actions' own times come from the
 * event log. Then, per shape at 5,000 rules, the time from starting `signal-event` to the
 * first probe that sees the new verdict (rule 1 turned to accept). The load average is printed
 * before and after: this machine is shared, so CPU times are the steadier figures.
 *
 * BENCH_SHAPES (objects,addresses,groups), BENCH_SIZES (1000,5000,50000) and BENCH_RUNS (5)
 * narrow a run; 50,000 rules are measured for the addresses shape only unless
 * BENCH_SHAPES names others (an event takes tens of seconds there). Needs root.
 *
 *   green ns 192.168.1.10 ── green0 [gw] red0 203.0.113.2 ── 203.0.113.1 inet ns
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { type DbRecord, mergeDefaults, setProps, setRecord, setRecords } from '../src/db/index.js';
import { projectDir } from '../src/layout/index.js';
import { planPaths } from '../src/plan/index.js';
import { median } from './_measure.js';

type Shape = 'objects' | 'addresses' | 'groups';
const SHAPES: Shape[] = ((process.env['BENCH_SHAPES'] ?? 'objects,addresses,groups').split(',') as Shape[]).filter((s) => ['objects', 'addresses', 'groups'].includes(s));
const SIZES = (process.env['BENCH_SIZES'] ?? '1000,5000,50000').split(',').map(Number);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
/** 50,000 rules only for these shapes (an event takes tens of seconds there). */
const BIG = 50000;
const BIG_SHAPES: Shape[] = process.env['BENCH_SHAPES'] ? SHAPES : ['addresses'];
const PROBE_PORT = 7777;
const ACTIONS = ['accept', 'drop', 'reject'];

interface Records {
  hosts: { key: string; record: DbRecord }[];
  fwservices: { key: string; record: DbRecord }[];
  fwrules: { key: string; record: DbRecord }[];
}

const quad = (a: number, i: number) => `${a}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** `count` rules of one shape; rule 1 is the probe's. Green is 192.168.0.0/16, so every source address is a green one. */
function shapeRecords(shape: Shape, count: number): Records {
  const out: Records = { hosts: [], fwservices: [], fwrules: [] };
  const rule = (i: number, props: Record<string, string>) => out.fwrules.push({ key: String(i), record: { type: 'rule', props: { Position: String(i * 10), Action: ACTIONS[i % 3]!, ...props } } });
  rule(1, { Src: 'role;green', Dst: 'role;red', Service: String(PROBE_PORT), Action: 'reject' });
  const green = (i: number) => `192.168.${(i >> 8) & 255}.${(i & 255) || 254}`;
  if (shape === 'objects') {
    const hosts = Math.max(10, Math.floor(count / 5));
    const services = Math.max(10, Math.floor(count / 10));
    for (let h = 0; h < hosts; h++) out.hosts.push({ key: `h${h}`, record: { type: 'host', props: { IpAddress: green(h + 2), Description: `host ${h}` } } });
    for (let s = 0; s < services; s++) out.fwservices.push({ key: `s${s}`, record: { type: 'fwservice', props: { Protocol: s % 2 === 0 ? 'tcp' : 'udp', Ports: `${20000 + s}` } } });
    for (let i = 2; i <= count; i++) {
      const host = `host;h${i % hosts}`;
      const service = `fwservice;s${i % services}`;
      // Roles and hosts on either side: green hosts out to red, red to a green host, the firewall to a host.
      if (i % 4 === 0) rule(i, { Src: 'role;red', Dst: host, Service: service });
      else if (i % 4 === 1) rule(i, { Src: 'fw', Dst: host, Service: service });
      else rule(i, { Src: host, Dst: 'role;red', Service: service });
    }
  } else if (shape === 'addresses') {
    for (let i = 2; i <= count; i++) rule(i, { Src: green(i), Dst: quad(198, (18 << 16) + i), Service: String(10000 + (i % 50000)) });
  } else {
    const groups = Math.max(10, Math.floor(count / 50));
    const cidrs = Math.max(10, Math.floor(count / 20));
    const ranges = Math.max(10, Math.floor(count / 20));
    for (let h = 0; h < groups * 4; h++) out.hosts.push({ key: `m${h}`, record: { type: 'host', props: { IpAddress: green(h + 2) } } });
    for (let g = 0; g < groups; g++) {
      const members = [0, 1, 2, 3].map((k) => `m${g * 4 + k}`).join(',');
      out.hosts.push({ key: `g${g}`, record: { type: 'host-group', props: { Members: members } } });
    }
    for (let c = 0; c < cidrs; c++) out.hosts.push({ key: `c${c}`, record: { type: 'cidr', props: { Address: `${quad(10, (c % 65536) << 8).replace(/\.\d+$/, '.0')}/24` } } });
    for (let r = 0; r < ranges; r++) {
      const net = `192.168.${200 + (r >> 6)}`;
      out.hosts.push({ key: `r${r}`, record: { type: 'iprange', props: { Start: `${net}.${(r & 63) * 4}`, End: `${net}.${(r & 63) * 4 + 3}` } } });
    }
    const sources = (i: number) => [`host-group;g${i % groups}`, `iprange;r${i % ranges}`, 'role;green'][i % 3]!;
    for (let i = 2; i <= count; i++) rule(i, { Src: sources(i), Dst: `cidr;c${i % cidrs}`, Service: String(10000 + (i % 50000)) });
  }
  return out;
}

async function writeRoot(root: string, shape: Shape, count: number): Promise<void> {
  await mergeDefaults(root);
  await setRecord(root, 'networks', 'green0', 'ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.0.0' });
  await setRecord(root, 'networks', 'red0', 'ethernet', { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', gateway: '203.0.113.1' });
  await setProps(root, 'configuration', 'firewall', { Policy: 'strict' });
  const records = shapeRecords(shape, count);
  if (records.hosts.length > 0) await setRecords(root, 'hosts', records.hosts);
  if (records.fwservices.length > 0) await setRecords(root, 'fwservices', records.fwservices);
  await setRecords(root, 'fwrules', records.fwrules);
}

/** `Action: EVENT NAME SUCCESS [1.234s]` and `Event: NAME SUCCESS [..]` lines -> 'EVENT NAME' / 'event NAME' -> ms. */
function durationsFromLog(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = / (Action|Event): (\S+(?: \S+)?) SUCCESS \[([\d.]+)s\]$/.exec(line);
    if (m) out.set(m[1] === 'Event' ? `event ${m[2]}` : m[2]!, Number(m[3]) * 1000);
  }
  return out;
}

async function buildNamespaces(ns: Record<'gw' | 'green' | 'inet', string>): Promise<void> {
  for (const name of Object.values(ns)) await execa('ip', ['netns', 'add', name]);
  await execa('ip', ['link', 'add', 'green0', 'netns', ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.green]);
  await execa('ip', ['link', 'add', 'red0', 'netns', ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.inet]);
  const batch = (name: string, lines: string[]) => execa('ip', ['-n', name, '-batch', '-'], { input: lines.join('\n') + '\n' });
  await batch(ns.gw, ['link set lo up', 'address add 192.168.1.1/16 dev green0', 'link set green0 up', 'address add 203.0.113.2/24 dev red0', 'link set red0 up']);
  await batch(ns.green, ['link set lo up', 'address add 192.168.1.10/16 dev eth0', 'link set eth0 up', 'route add default via 192.168.1.1']);
  await batch(ns.inet, ['link set lo up', 'address add 203.0.113.1/24 dev eth0', 'link set eth0 up']);
}

/** One TCP connection attempt from green to inet: true when it connects. */
function connects(ns: string): Promise<boolean> {
  return execa('ip', ['netns', 'exec', ns, 'nc', '-z', '-w', '1', '203.0.113.1', String(PROBE_PORT)], { reject: false }).then((r) => r.exitCode === 0);
}

interface EventRun {
  ms: number;
  /** User + system time of signal-event and every process it waited for. */
  cpuMs: number;
  maxRssMb: number;
}

/** One whole `signal-event firewall-adjust`, timed by GNU time (wall, CPU of the tree, peak RSS of the largest process). */
function eventOnce(root: string, gw: string, caCerts: boolean): EventRun {
  const env: NodeJS.ProcessEnv = { ...process.env, GATEHOUSE_ROOT: root };
  if (!caCerts) delete env['NODE_EXTRA_CA_CERTS'];
  const signalEvent = join(projectDir(), 'bin/signal-event.js');
  const start = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', process.execPath, signalEvent, '--root', root, '--apply', `netns:${gw}`, 'firewall-adjust'], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`signal-event firewall-adjust failed:\n${r.stderr}`);
  const [user, sys, rss] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, cpuMs: (user! + sys!) * 1000, maxRssMb: rss! / 1024 };
}

function restoreMs(ns: string, command: string, input: string): number {
  const start = performance.now();
  const r = spawnSync('ip', ['netns', 'exec', ns, command], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${command} of the floor failed: ${r.stderr}`);
  return performance.now() - start;
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

interface Row {
  shape: Shape;
  size: number;
  lines: number;
  floor: number;
  ca?: EventRun;
  plain: EventRun;
  actions: Map<string, number>;
  /** Wall time of the process outside the event's own duration (Node start, module loading, lock, log), per run. */
  outside: number;
  toVerdict?: number;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.log('skipped: the end-to-end benchmark needs root (it builds network namespaces)');
    return 0;
  }
  const id = randomBytes(3).toString('hex');
  const ns = { gw: `ghbgw-${id}`, green: `ghbgr-${id}`, inet: `ghbin-${id}` };
  const floorNs = `ghbfl-${id}`;
  const cleanup = (): void => {
    for (const name of [...Object.values(ns), floorNs]) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  };
  process.once('SIGINT', () => (cleanup(), process.exit(130)));
  const hasCa = process.env['NODE_EXTRA_CA_CERTS'] !== undefined;
  const loadBefore = load();
  const rows: Row[] = [];
  let listener: ReturnType<typeof spawn> | undefined;
  try {
    await buildNamespaces(ns);
    listener = spawn('ip', ['netns', 'exec', ns.inet, 'nc', '-k', '-l', String(PROBE_PORT)], { stdio: 'ignore' });
    for (const size of SIZES) {
      for (const shape of SHAPES) {
        if (size >= BIG && !BIG_SHAPES.includes(shape)) continue;
        const root = await mkdtemp(join(tmpdir(), `gatehouse-bench-e2e-${shape}-`));
        try {
          await writeRoot(root, shape, size);
          eventOnce(root, ns.gw, hasCa); // the first plan in place (and the fragments compiled)
          const rulesV4 = await readFile(join(planPaths(root).current, 'rules.v4'), 'utf8');
          // A fresh floor namespace per shape, holding the plan's sets (rules name them); only the restore is timed.
          spawnSync('ip', ['netns', 'del', floorNs], { stdio: 'ignore' });
          await execa('ip', ['netns', 'add', floorNs]);
          const sets = await Promise.all(['ipsets', 'runtime-ipsets'].map((f) => readFile(join(planPaths(root).current, f), 'utf8').catch(() => '')));
          await execa('ip', ['netns', 'exec', floorNs, 'ipset', 'restore', '-exist'], { input: sets.join('\n') });
          const eventLog = join(root, 'var/log/gatehouse/events.log');
          const floor: number[] = [];
          const withCa: EventRun[] = [];
          const plain: EventRun[] = [];
          const perAction = new Map<string, number[]>();
          let turn = 0;
          const outside: number[] = [];
          const changed = async (caCerts: boolean): Promise<EventRun> => {
            await setProps(root, 'fwrules', '2', { Action: ACTIONS[turn++ % 3]! });
            const before = (await readFile(eventLog)).length;
            const run = eventOnce(root, ns.gw, caCerts);
            const logged = durationsFromLog((await readFile(eventLog)).subarray(before).toString('utf8'));
            for (const [name, ms] of logged) perAction.set(name, [...(perAction.get(name) ?? []), ms]);
            const inEvent = logged.get('event firewall-adjust');
            if (inEvent !== undefined) outside.push(run.ms - inEvent);
            return run;
          };
          for (let i = 0; i < RUNS; i++) {
            floor.push(restoreMs(floorNs, 'iptables-restore', rulesV4));
            if (hasCa) withCa.push(await changed(true));
            plain.push(await changed(false));
          }
          const med = (runs: EventRun[]): EventRun => ({ ms: median(runs.map((r) => r.ms)), cpuMs: median(runs.map((r) => r.cpuMs)), maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)) });
          const row: Row = {
            shape,
            size,
            lines: rulesV4.split('\n').filter((l) => l.startsWith('-A')).length,
            floor: median(floor),
            ...(hasCa ? { ca: med(withCa) } : {}),
            plain: med(plain),
            actions: new Map([...perAction].map(([name, values]) => [name, median(values)])),
            outside: median(outside),
          };
          if (size === 5000) {
            // Signal to verdict: rule 1 flips from reject to accept; probe until a connection gets through.
            await new Promise((r) => setTimeout(r, 100));
            if (await connects(ns.green)) throw new Error(`${shape}: the probe connects before the change: the rule under test is not in force`);
            await setProps(root, 'fwrules', '1', { Action: 'accept' });
            const env = { ...process.env, GATEHOUSE_ROOT: root };
            const t0 = performance.now();
            const running = execa(process.execPath, [join(projectDir(), 'bin/signal-event.js'), '--root', root, '--apply', `netns:${ns.gw}`, 'firewall-adjust'], { env });
            while (row.toVerdict === undefined && performance.now() - t0 < 60_000) {
              if (await connects(ns.green)) row.toVerdict = performance.now() - t0;
              else await new Promise((r) => setTimeout(r, 10));
            }
            await running;
          }
          rows.push(row);
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      }
    }
  } finally {
    listener?.kill('SIGKILL');
    cleanup();
  }

  const f0 = (n: number) => n.toFixed(0);
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log(`signal-event firewall-adjust as typed after a one-rule change, median of ${RUNS} runs (wall / CPU ms, peak RSS); load average before ${loadBefore}, after ${load()} (2 cores)`);
  console.log('floor: iptables-restore of the whole rules.v4 into an empty namespace. Goal: the event at most 2.00x the floor for every shape (met when at least 10% under it)');
  console.log('     shape |  rules | iptables rules |  floor | with NODE_EXTRA_CA_CERTS        | without                         | x floor (with, without)');
  for (const r of rows) {
    const cell = (e: EventRun) => `${f0(e.ms)} / ${f0(e.cpuMs)}, ${f0(e.maxRssMb)} MB`.padEnd(31);
    console.log(
      [
        r.shape.padStart(10),
        String(r.size).padStart(6),
        String(r.lines).padStart(14),
        f0(r.floor).padStart(6),
        r.ca ? cell(r.ca) : 'not set here'.padEnd(31),
        cell(r.plain),
        `${r.ca ? x(r.ca.ms, r.floor) : '-'}, ${x(r.plain.ms, r.floor)}`,
      ].join(' | '),
    );
  }
  console.log('where the event spends its time (medians of every measured event, from the event log; the rest is process start, module loading, lock and log):');
  for (const r of rows) {
    const parts = [...r.actions].filter(([name]) => !name.startsWith('event ') && !name.endsWith('S20fire-firewall-event')).map(([name, ms]) => `${name.split(' ').pop()} ${f0(ms)}`);
    console.log(`  ${r.shape} ${r.size}: ${parts.join(', ')}; outside the event (process start, modules, lock) ${f0(r.outside)}`);
  }
  for (const shape of SHAPES) {
    const growth = rows.filter((r) => r.shape === shape);
    if (growth.length > 1) console.log(`growth, ${shape} (${hasCa ? 'with' : 'without'} NODE_EXTRA_CA_CERTS): ${growth.map((r) => `${r.size} rules ${f0((r.ca ?? r.plain).ms)} ms (cpu ${f0((r.ca ?? r.plain).cpuMs)}), ${f0((r.ca ?? r.plain).maxRssMb)} MB`).join('; ')}`);
  }
  for (const r of rows) {
    if (r.size !== 5000) continue;
    console.log(
      r.toVerdict === undefined
        ? `${r.shape}: the new verdict was never seen within 60 s`
        : `${r.shape}: ${f0(r.toVerdict)} ms from starting signal-event to the first probe that sees the new verdict, ${x(r.toVerdict, r.floor)} the floor (goal: at most 1.50x)`,
    );
  }
  return 0;
}

process.exitCode = await main();
