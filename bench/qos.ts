/**
 * QoS part benchmark: the traffic-shaping part of a plan applied into a throwaway network
 * namespace (a veth pair as the red interface, 10,000 kbit/s each way): the kernel probe
 * alone, a full apply (probe, offloads, FireQOS start) with the shipped classes and with 20
 * classes, an unchanged re-apply (the classes read back and compared), and clearing.
 * FireQOS is a large shell program: its time is mostly process starts, so it grows with
 * the machine's load. Needs root and FireQOS; skips otherwise.
 *
 * Shaping accuracy (measured / configured) through the whole product: databases, then
 * firewall-adjust into a gateway namespace (green0 LAN host, red0 at 10,000 kbit/s each way
 * to an internet host), as the lab test configures it: class low (Mark 3) ceil 20% on port
 * 5201, class bulk (Mark 63) commit 50% on port 5203, port 5202 unclassified. iperf3 bulk
 * transfers (2 s after a 1 s warm-up, 4 s for the competing pair), median of RUNS each.
 * Needs iperf3 as well.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createKernelRunner } from '../src/apply/index.js';
import { type Database, mergeDefaults, setProps, setRecord } from '../src/db/index.js';
import { signalEvent } from '../src/events/index.js';
import { buildQosModel, probeKernel, qosPart, stopFireqos } from '../src/qos/index.js';
import { median, timeAsync } from './_measure.js';

const RUNS = 5;
const RATE_KBIT = 10_000;
const loadAverage = (): string => spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');

function conf(classes: number): string {
  const tc: Database = {};
  for (let i = 1; i <= classes; i++) tc[`class${String(i).padStart(2, '0')}`] = { type: 'class', props: { Mark: String(i), MinOutputRate: '2', MaxInputRate: '50', MaxOutputRate: '50' } };
  const m = buildQosModel({
    networks: { red0: { type: 'ethernet', props: { role: 'red', ipaddr: '203.0.113.2', netmask: '255.255.255.0', FwInBandwidth: '10000', FwOutBandwidth: '10000' } } },
    tc,
  });
  return [`#@gatehouse leaf-qdisc ${m.leafQdisc}`, ...m.classes.map((c) => `#@gatehouse class-mark ${c.name} ${c.mark}`), 'FIREQOS_CONNMARK_RESTORE="${GATEHOUSE_CONNMARK_RESTORE-}"', ...m.fireqos.flatMap((b) => b.lines)].join('\n') + '\n';
}

/** Shaping accuracy through db + firewall-adjust in a gateway namespace of its own; rows of [what, measured kbit/s, configured kbit/s]. */
async function accuracy(): Promise<[string, number, number][]> {
  const id = randomBytes(3).toString('hex');
  const ns = { gw: `ghbqa-gw-${id}`, green: `ghbqa-gr-${id}`, inet: `ghbqa-in-${id}` };
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-bench-qos-'));
  const servers: ChildProcess[] = [];
  try {
    for (const name of Object.values(ns)) await execa('ip', ['netns', 'add', name]);
    await execa('ip', ['link', 'add', 'green0', 'netns', ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.green]);
    await execa('ip', ['link', 'add', 'red0', 'netns', ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.inet]);
    const batch = (n: string, lines: string[]) => execa('ip', ['-n', n, '-batch', '-'], { input: ['link set lo up', ...lines].join('\n') + '\n' });
    await batch(ns.gw, ['address add 192.168.1.1/24 dev green0', 'link set green0 up', 'address add 203.0.113.2/24 dev red0', 'link set red0 up', 'route add default via 203.0.113.1']);
    await batch(ns.green, ['address add 192.168.1.10/24 dev eth0', 'link set eth0 up', 'route add default via 192.168.1.1']);
    await batch(ns.inet, ['address add 203.0.113.1/24 dev eth0', 'link set eth0 up']);
    await execa('ip', ['netns', 'exec', ns.gw, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

    await mergeDefaults(root);
    await setRecord(root, 'networks', 'green0', 'ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' });
    await setRecord(root, 'networks', 'red0', 'ethernet', { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', gateway: '203.0.113.1', FwInBandwidth: String(RATE_KBIT), FwOutBandwidth: String(RATE_KBIT) });
    await setProps(root, 'tc', 'low', { MaxInputRate: '20', MaxOutputRate: '20' });
    await setRecord(root, 'tc', 'bulk', 'class', { Mark: '63', MinInputRate: '50', MinOutputRate: '50' });
    await setRecord(root, 'fwservices', 'iperf-low', 'fwservice', { Protocol: 'tcp', Ports: '5201' });
    await setRecord(root, 'fwservices', 'iperf-bulk', 'fwservice', { Protocol: 'tcp', Ports: '5203' });
    await setRecord(root, 'fwrules', '10', 'rule', { Src: 'role;green', Dst: 'role;red', Service: 'fwservice;iperf-low', Action: 'class;low', status: 'enabled', Position: '1' });
    await setRecord(root, 'fwrules', '11', 'rule', { Src: 'role;green', Dst: 'role;red', Service: 'fwservice;iperf-bulk', Action: 'class;bulk', status: 'enabled', Position: '2' });
    await signalEvent({ root, event: 'firewall-adjust', applyMode: { kind: 'netns', name: ns.gw } });
    for (const port of [5201, 5202, 5203]) servers.push(spawn('ip', ['netns', 'exec', ns.inet, 'iperf3', '-s', '-p', String(port)], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));

    const transfer = async (port: number, download: boolean, seconds = 2): Promise<number> => {
      for (let attempt = 0; ; attempt++) {
        try {
          const out = await execa('ip', ['netns', 'exec', ns.green, 'iperf3', '-c', '203.0.113.1', '-p', String(port), '-t', String(seconds), '-O', '1', '-J', ...(download ? ['-R'] : [])]);
          return (JSON.parse(out.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1000;
        } catch (e) {
          if (attempt >= 4) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const rows: [string, number, number][] = [];
    for (const download of [false, true]) {
      const way = download ? 'download' : 'upload';
      const low: number[] = [];
      const alone: number[] = [];
      const bulk: number[] = [];
      const rest: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        low.push(await transfer(5201, download));
        alone.push(await transfer(5202, download));
        // Longer, so the two transfers overlap for most of their time despite process starts.
        const [b, r] = await Promise.all([transfer(5203, download, 4), transfer(5202, download, 4)]);
        bulk.push(b);
        rest.push(r);
      }
      rows.push([`low (ceil 20%) ${way}, alone`, median(low), RATE_KBIT * 0.2]);
      rows.push([`unclassified ${way}, alone (default class, link rate)`, median(alone), RATE_KBIT]);
      rows.push([`bulk (commit 50%, Mark 63) ${way}, competing`, median(bulk), RATE_KBIT * 0.5]);
      rows.push([`unclassified ${way}, competing with bulk (the rest)`, median(rest), RATE_KBIT * 0.5]);
    }
    return rows;
  } finally {
    for (const s of servers) s.kill();
    for (const name of Object.values(ns)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    spawnSync('rm', ['-rf', `/run/gatehouse/fireqos/netns-${ns.gw}`]);
    await rm(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v fireqos']).status !== 0) {
    console.log('skipped: needs root and FireQOS (Debian package fireqos)');
    return;
  }
  const ns = `ghbq-${randomBytes(3).toString('hex')}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', 'ip link add red0 type veth peer name peer0 && ip link set red0 up && ip link set peer0 up']);
    const runner = createKernelRunner({ kind: 'netns', name: ns }, { timeoutSeconds: 300 });
    const rows: [string, number][] = [];
    const loadBefore = loadAverage();
    const probe: number[] = [];
    for (let i = 0; i < RUNS; i++) probe.push(await timeAsync(() => probeKernel(runner)));
    rows.push(['kernel probe (throwaway IFB: qdiscs, act_connmark)', median(probe)]);
    for (const classes of [2, 20]) {
      const content = qosPart.parse({ 'fireqos.conf': conf(classes) }, 'bench');
      const times: number[] = [];
      let record: string | undefined;
      for (let i = 0; i < RUNS; i++) {
        times.push(
          await timeAsync(async () => {
            const r = await qosPart.apply(runner, content, { sameAsBefore: false, prepared: undefined, settled: new AbortController().signal });
            record = (await r.record) ?? undefined;
          }),
        );
      }
      rows.push([`QoS part apply, ${classes} classes x 2 directions (probe + FireQOS start)`, median(times)]);
      const same: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        same.push(await timeAsync(() => qosPart.apply(runner, content, { sameAsBefore: true, beforeRecord: record!, before: content, prepared: undefined, settled: new AbortController().signal })));
      }
      rows.push([`QoS part apply, ${classes} classes, unchanged (read back, compared)`, median(same)]);
    }
    rows.push(['clear (fireqos stop)', await timeAsync(() => stopFireqos(runner))]);
    console.log(`QoS part, median of ${RUNS} runs; load average ${loadBefore} before, ${loadAverage()} after, on ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`);
    for (const [what, ms] of rows) console.log(`  ${what.padEnd(72)} ${ms.toFixed(0).padStart(7)} ms`);
    if (spawnSync('sh', ['-c', 'command -v iperf3']).status !== 0) {
      console.log('shaping accuracy skipped: iperf3 is not installed (Debian package iperf3)');
      return;
    }
    const loadAcc = loadAverage();
    const acc = await accuracy();
    console.log(`shaping accuracy (measured / configured), iperf3 2 s each (4 s competing), median of ${RUNS}; load average ${loadAcc} before, ${loadAverage()} after`);
    for (const [what, kbit, configured] of acc) {
      console.log(`  ${what.padEnd(56)} ${(kbit / 1000).toFixed(2).padStart(6)} of ${(configured / 1000).toFixed(2).padStart(5)} Mbit/s  ${((kbit / configured) * 100).toFixed(1).padStart(6)}%`);
    }
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('rm', ['-rf', `/run/gatehouse/fireqos/netns-${ns}`]);
  }
}

await main();
