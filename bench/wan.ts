/**
 * Multi-WAN benchmark, in namespaces of its own (root only; always removed):
 * - the routing part's apply time (target read + one ip -batch), two providers, balance;
 * - wan-uplink-update latency, in process (what the link monitor runs) and as a
 *   `signal-event` process (what an administrator or a hook runs);
 * - failover and failback with `gatehouse wan-monitor` (PingInterval 1, MaxNumberPacketLoss 3),
 *   CYCLES times: from cutting isp1 (it stops forwarding and answering) to the first new TCP
 *   connection from the LAN host that the internet host sees coming from isp2's address, and
 *   from restoring isp1 to the first one coming from isp1's again (a connection tried every
 *   100 ms, 300 ms timeout each).
 *
 *   gw red0 203.0.113.2 ── isp1 ──┐
 *   gw red1 192.0.2.2   ── isp2 ──┴ inet 198.51.100.10
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createKernelRunner } from '../src/apply/index.js';
import { mergeDefaults, setProps, setRecord } from '../src/db/index.js';
import { signalEvent } from '../src/events/index.js';
import { projectDir } from '../src/layout/index.js';
import { planPaths } from '../src/plan/index.js';
import { applyRoutingWith, readRoutingSpec, wanDir } from '../src/wan/index.js';
import { median, timeAsync } from './_measure.js';

const RUNS = 10;
const CYCLES = 5;
const loadAverage = (): string => spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');

/** Internet host: answers each TCP connection with the address it came from. */
const SERVER = "require('net').createServer((s) => s.end(s.remoteAddress)).listen(8080, '0.0.0.0')";
/** LAN host: for each line on stdin, one new connection to the internet host; prints what it saw, or none. */
const CLIENT = `
const net = require('net');
require('readline').createInterface({ input: process.stdin }).on('line', () => {
  let seen = '', done = false;
  const finish = (what) => { if (!done) { done = true; s.destroy(); process.stdout.write(what + '\\n'); } };
  const s = net.connect({ host: '198.51.100.10', port: 8080 });
  s.on('data', (d) => (seen += d));
  s.on('end', () => finish(seen || 'none'));
  s.on('error', () => finish('none'));
  s.setTimeout(300, () => finish('none'));
});`;

const ms = (n: number): string => (Number.isNaN(n) ? 'not reached in 20 s' : `${n.toFixed(0)} ms`);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('skipped: the multi-WAN benchmark needs root (it builds network namespaces)');
    return;
  }
  const id = randomBytes(3).toString('hex');
  const ns = { gw: `ghbw-gw-${id}`, isp1: `ghbw-i1-${id}`, isp2: `ghbw-i2-${id}`, inet: `ghbw-in-${id}`, green: `ghbw-gr-${id}` };
  const cleanup = (): void => {
    for (const name of Object.values(ns)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    spawnSync('rm', ['-rf', `/run/gatehouse/fireqos/netns-${ns.gw}`]);
  };
  process.once('exit', cleanup);
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-bench-wan-'));
  const inNs = (n: string, cmd: string, args: string[]) => execa('ip', ['netns', 'exec', n, cmd, ...args]);
  let monitor: ReturnType<typeof spawn> | undefined;
  try {
    for (const name of Object.values(ns)) await execa('ip', ['netns', 'add', name]);
    const link = (a: string, ia: string, b: string, ib: string) => execa('ip', ['link', 'add', ia, 'netns', a, 'type', 'veth', 'peer', 'name', ib, 'netns', b]);
    await link(ns.gw, 'green0', ns.green, 'eth0');
    await link(ns.gw, 'red0', ns.isp1, 'wan0');
    await link(ns.gw, 'red1', ns.isp2, 'wan0');
    await link(ns.isp1, 'inet0', ns.inet, 'eth0');
    await link(ns.isp2, 'inet0', ns.inet, 'eth1');
    const batch = (n: string, lines: string[]) => execa('ip', ['-n', n, '-batch', '-'], { input: ['link set lo up', ...lines].join('\n') + '\n' });
    const up = (dev: string, cidr: string) => [`address add ${cidr} dev ${dev}`, `link set ${dev} up`];
    await batch(ns.gw, [...up('green0', '192.168.1.1/24'), ...up('red0', '203.0.113.2/24'), ...up('red1', '192.0.2.2/24')]);
    await batch(ns.green, [...up('eth0', '192.168.1.10/24'), 'route add default via 192.168.1.1']);
    await batch(ns.isp1, [...up('wan0', '203.0.113.1/24'), ...up('inet0', '198.51.100.1/24')]);
    await batch(ns.isp2, [...up('wan0', '192.0.2.1/24'), ...up('inet0', '198.18.0.1/24'), 'route add 198.51.100.10/32 via 198.18.0.10']);
    await batch(ns.inet, [...up('eth0', '198.51.100.10/24'), ...up('eth1', '198.18.0.10/24'), 'route add 203.0.113.0/24 via 198.51.100.1', 'route add 192.0.2.0/24 via 198.18.0.1']);
    for (const n of [ns.isp1, ns.isp2, ns.gw]) await inNs(n, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    const loadBefore = loadAverage();

    await mergeDefaults(root);
    await setRecord(root, 'networks', 'green0', 'ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' });
    await setRecord(root, 'networks', 'red0', 'ethernet', { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', gateway: '203.0.113.1' });
    await setRecord(root, 'networks', 'red1', 'ethernet', { role: 'red', bootproto: 'none', ipaddr: '192.0.2.2', netmask: '255.255.255.0', gateway: '192.0.2.1' });
    await setRecord(root, 'networks', 'isp1', 'provider', { interface: 'red0', weight: '2' });
    await setRecord(root, 'networks', 'isp2', 'provider', { interface: 'red1', weight: '1' });
    await setProps(root, 'configuration', 'firewall', { WanMode: 'backup', CheckIP: '198.51.100.10', PingInterval: '1', MaxNumberPacketLoss: '3', MaxPercentPacketLoss: '50' });
    const mode = { kind: 'netns', name: ns.gw } as const;
    await signalEvent({ root, event: 'firewall-adjust', applyMode: mode });

    const spec = (await readRoutingSpec(planPaths(root).current))!;
    const runner = createKernelRunner(mode);
    const applyTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) applyTimes.push(await timeAsync(() => applyRoutingWith(runner, spec, wanDir(root))));

    const floor: number[] = [];
    for (let i = 0; i < RUNS; i++) floor.push(await timeAsync(() => runner.run({ step: 'floor', command: 'ip', args: ['-4', '-batch', '-'], input: 'rule show\n' })));

    const inProcess: number[] = [];
    for (let i = 0; i < RUNS; i++) inProcess.push(await timeAsync(() => signalEvent({ root, event: 'wan-uplink-update', args: [i % 2 === 0 ? 'down' : 'up', 'isp2'], applyMode: mode })));
    const bin = join(projectDir(), 'bin', 'signal-event.js');
    const asProcess: number[] = [];
    for (let i = 0; i < 5; i++) {
      asProcess.push(await timeAsync(() => execa(process.execPath, [bin, '--root', root, '--apply', `netns:${ns.gw}`, 'wan-uplink-update', i % 2 === 0 ? 'down' : 'up', 'isp2'])));
    }

    const server = spawn('ip', ['netns', 'exec', ns.inet, process.execPath, '-e', SERVER], { stdio: 'ignore' });
    const client = spawn('ip', ['netns', 'exec', ns.green, process.execPath, '-e', CLIENT], { stdio: ['pipe', 'pipe', 'ignore'] });
    const answers: ((line: string) => void)[] = [];
    let pending = '';
    client.stdout!.on('data', (c: Buffer) => {
      pending += c.toString();
      for (let at = pending.indexOf('\n'); at >= 0; at = pending.indexOf('\n')) {
        answers.shift()?.(pending.slice(0, at));
        pending = pending.slice(at + 1);
      }
    });
    const seenFrom = (): Promise<string> => new Promise((resolve) => (answers.push(resolve), client.stdin!.write('go\n')));
    const until = async (address: string, limitMs: number): Promise<number> => {
      const t0 = performance.now();
      while (performance.now() - t0 < limitMs) {
        if ((await seenFrom()) === address) return performance.now() - t0;
        await new Promise((r) => setTimeout(r, 100));
      }
      return NaN;
    };
    monitor = spawn(process.execPath, [join(projectDir(), 'bin', 'gatehouse.js'), 'wan-monitor', '--root', root, '--apply', `netns:${ns.gw}`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 2500));
    const before = await until('203.0.113.2', 5000);
    const failovers: number[] = [];
    const failbacks: number[] = [];
    try {
      for (let i = 0; i < CYCLES; i++) {
        await inNs(ns.isp1, 'iptables', ['-I', 'FORWARD', '-j', 'DROP']);
        await inNs(ns.isp1, 'iptables', ['-I', 'INPUT', '-j', 'DROP']);
        failovers.push(await until('192.0.2.2', 20_000));
        await inNs(ns.isp1, 'iptables', ['-D', 'FORWARD', '-j', 'DROP']);
        await inNs(ns.isp1, 'iptables', ['-D', 'INPUT', '-j', 'DROP']);
        failbacks.push(await until('203.0.113.2', 20_000));
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      client.kill();
      server.kill();
    }
    const spread = (list: number[]) => `median ${ms(median(list))}, min ${ms(Math.min(...list))}, max ${ms(Math.max(...list))}`;

    console.log(`multi-WAN, two providers (backup mode), namespace ${ns.gw}; median of ${RUNS} unless said; load average ${loadBefore} before, ${loadAverage()} after, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`);
    console.log(`  routing part apply (read target + ip -batch of ${spec.providers.length} providers)   ${median(applyTimes).toFixed(1)} ms`);
    console.log(`  baseline: one empty-ish ip -batch in the namespace (the floor; apply runs two)   ${median(floor).toFixed(1)} ms`);
    console.log(`  wan-uplink-update in process (the monitor's path)                  ${median(inProcess).toFixed(1)} ms`);
    console.log(`  wan-uplink-update as a signal-event process (median of 5)           ${median(asProcess).toFixed(1)} ms`);
    console.log(`  failover: isp1 cut -> first new LAN connection seen from isp2, ${CYCLES} cycles   ${spread(failovers)} (first via isp1 after ${ms(before)}; 3 losses x 1 s + the event)`);
    console.log(`  failback: isp1 restored -> first new LAN connection seen from isp1   ${spread(failbacks)} (3 answers in a row x 1 s + the event)`);
  } finally {
    monitor?.kill('SIGTERM');
    cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
