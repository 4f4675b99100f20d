/**
 * QoS part benchmark: the traffic-shaping part of a plan applied into a throwaway network
 * namespace (a veth pair as the red interface, 10,000 kbit/s each way): the kernel probe
 * alone, a full apply (probe, offloads, FireQOS start) with the shipped classes and with 20
 * classes, an unchanged re-apply (the classes read back and compared), and clearing.
 * FireQOS is a large shell program: its time is mostly process starts, so it grows with
 * the machine's load. Needs root and FireQOS; skips otherwise.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createKernelRunner } from '../src/apply/index.js';
import type { Database } from '../src/db/index.js';
import { buildQosModel, probeKernel, qosPart, stopFireqos } from '../src/qos/index.js';
import { median, timeAsync } from './_measure.js';

const RUNS = 3;

function conf(classes: number): string {
  const tc: Database = {};
  for (let i = 1; i <= classes; i++) tc[`class${String(i).padStart(2, '0')}`] = { type: 'class', props: { Mark: String(i), MinOutputRate: '2', MaxInputRate: '50', MaxOutputRate: '50' } };
  const m = buildQosModel({
    networks: { red0: { type: 'ethernet', props: { role: 'red', ipaddr: '203.0.113.2', netmask: '255.255.255.0', FwInBandwidth: '10000', FwOutBandwidth: '10000' } } },
    tc,
  });
  return [`#@gatehouse leaf-qdisc ${m.leafQdisc}`, ...m.classes.map((c) => `#@gatehouse class-mark ${c.name} ${c.mark}`), 'FIREQOS_CONNMARK_RESTORE="${GATEHOUSE_CONNMARK_RESTORE-}"', ...m.fireqos.flatMap((b) => b.lines)].join('\n') + '\n';
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
    const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ')[0];
    console.log(`median of ${RUNS} runs, load average ${load} on ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`);
    for (const [what, ms] of rows) console.log(`${what.padEnd(72)} ${ms.toFixed(0).padStart(7)} ms`);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('rm', ['-rf', `/run/gatehouse/fireqos/netns-${ns}`]);
  }
}

await main();
