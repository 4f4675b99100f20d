/**
 * The FireQOS runner against a real kernel: a throwaway namespace with a veth pair as the
 * red interface. What this machine's kernel lacks (fq_codel, act_connmark) must come back
 * as warnings with the fallback in force; a FireQOS failure must carry FireQOS's message.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernelRunner } from '../../src/apply/index.js';
import { GatehouseError } from '../../src/errors/index.js';
import {
  buildQosModel,
  choose,
  compareClasses,
  fireqosBlock,
  parseFireqosReport,
  parseTcClasses,
  readDirectives,
  readLiveClasses,
  startFireqos,
  probeKernel,
  stopFireqos,
} from '../../src/qos/index.js';

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of ['fireqos', 'tc', 'ip']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  return undefined;
}
const skip = why();
if (skip) console.warn(`skipped FireQOS kernel tests: ${skip}`);

const rec = (type: string, props: Record<string, string>) => ({ type, props });

function conf(extra: Record<string, { type: string; props: Record<string, string> }> = {}): string {
  const m = buildQosModel({
    networks: { red0: rec('ethernet', { role: 'red', ipaddr: '203.0.113.2', netmask: '255.255.255.0', FwInBandwidth: '10000', FwOutBandwidth: '8000' }) },
    tc: { high: rec('class', { Mark: '2', MinInputRate: '10', MinOutputRate: '10' }), low: rec('class', { Mark: '63', MaxInputRate: '20', MaxOutputRate: '20' }), ...extra },
    fwrules: {},
    fwservices: {},
    hosts: {},
    configuration: {},
  });
  const head = [`#@gatehouse leaf-qdisc ${m.leafQdisc}`, ...m.classes.map((c) => `#@gatehouse class-mark ${c.name} ${c.mark}`), ...(m.connmarkOnly.length ? [`#@gatehouse connmark-only ${m.connmarkOnly.join(' ')}`] : []), 'FIREQOS_CONNMARK_RESTORE="${GATEHOUSE_CONNMARK_RESTORE-}"'];
  return [...head, ...m.fireqos.flatMap((b) => b.lines)].join('\n') + '\n';
}

describe('fireqos.conf directives and reports (pure)', () => {
  it('reads the #@gatehouse lines and the interface devices', () => {
    const d = readDirectives(conf());
    expect(d).toEqual({ leafQdisc: 'fq_codel', connmarkOnly: ['high', 'low'], warnings: [], devices: ['red0'], classMarks: { high: 2, low: 63 } });
  });

  it('falls back to pfifo and warns when the leaf qdisc or act_connmark is missing', () => {
    const { env, warnings } = choose(readDirectives(conf()), { ifb: true, connmarkAction: false, u32Mark: false, clsBpf: true, qdiscs: { fq_codel: false, pfifo: true, htb: true } });
    expect(env).toEqual({ GATEHOUSE_LEAF_QDISC: 'pfifo' });
    expect(warnings[0]).toMatch(/no fq_codel qdisc: every class uses pfifo instead/);
    expect(warnings[1]).toMatch(/no act_connmark: download traffic of classes high, low cannot be recognised/);
    expect(choose(readDirectives(conf()), { ifb: true, connmarkAction: true, u32Mark: true, clsBpf: true, qdiscs: { fq_codel: true, htb: true } })).toEqual({
      env: { GATEHOUSE_LEAF_QDISC: 'fq_codel', GATEHOUSE_U32_MARK: '1', GATEHOUSE_CONNMARK_RESTORE: 'act_connmark' },
      warnings: [],
    });
  });

  it('parses what FireQOS reports creating and what tc shows', () => {
    const report = [
      ': interface red0 isp1-out output rate 8000kbit balanced qdisc pfifo (red0, 8000kbit, mtu 1500, quantum 1500, minrate 80kbit)',
      ': \tclass high commit 10% (1:11, 800/8000kbit, prio 4)',
      ': interface red0 isp1-in input rate 10000kbit balanced qdisc pfifo (red0-ifb, 10000kbit, mtu 1500, quantum 1500, minrate 100kbit)',
      ': \tclass low ceil 20% (1:12, 100/2000kbit, prio 4)',
    ].join('\n');
    expect(parseFireqosReport(report)).toEqual([
      { interface: 'isp1-out', device: 'red0', class: 'high', classid: '1:11', rate: 800_000, ceil: 8_000_000 },
      { interface: 'isp1-in', device: 'red0-ifb', class: 'low', classid: '1:12', rate: 100_000, ceil: 2_000_000 },
    ]);
    const tc = 'class htb 1:12 parent 1:1 leaf 12: prio 4 rate 100Kbit ceil 2Mbit burst 1600b cburst 1600b \n Sent 42 bytes 3 pkt (dropped 1, overlimits 0 requeues 0) \n';
    expect(parseTcClasses(tc)).toEqual([{ classid: '1:12', rate: 100_000, ceil: 2_000_000, bytes: 42, packets: 3, dropped: 1 }]);
  });
});

describe.skipIf(skip)('FireQOS in a network namespace', { timeout: 240_000 }, () => {
  const ns = `ghqos-${randomBytes(3).toString('hex')}`;
  const runner = createKernelRunner({ kind: 'netns', name: ns }, { timeoutSeconds: 120 });
  const sh = (cmd: string) => execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8' });

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    sh('ip link add red0 type veth peer name peer0 && ip link set red0 up && ip link set peer0 up');
  });
  afterAll(async () => {
    await stopFireqos(runner).catch(() => undefined);
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('rm', ['-rf', `/run/gatehouse/fireqos/netns-${ns}`]);
  });

  let applied: Awaited<ReturnType<typeof startFireqos>> | undefined;

  it('the kernel probe leaves no scratch IFB behind, and removes one a killed probe left', async () => {
    // A probe killed outright (SIGKILL) leaves its ghqos<pid>; no process has that pid.
    sh('ip link add ghqos4194300 type ifb');
    const features = await probeKernel(runner);
    expect(features.ifb).toBe(true);
    expect(sh('ip -o link show type ifb')).not.toMatch(/ghqos/);
  });

  it('applies both directions with the fallbacks this kernel needs, and the kernel holds every class with its rates', async () => {
    const started = Date.now();
    const result = await startFireqos(runner, conf());
    applied = result;
    console.log(`FireQOS start in a namespace: ${Date.now() - started} ms (probe, offloads, fireqos start)`);
    expect(result.classes.map((c) => `${c.interface} ${c.class} ${c.rate} ${c.ceil}`)).toEqual([
      'red-red0-out high 800000 8000000',
      'red-red0-out low 80000 1600000',
      'red-red0-out default 80000 8000000',
      'red-red0-in high 1000000 10000000',
      'red-red0-in low 100000 2000000',
      'red-red0-in default 100000 10000000',
    ]);
    const live = await readLiveClasses(runner, ['red0', 'red0-ifb']);
    expect(compareClasses(result.classes, live)).toEqual([]);
    const kernel = spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'show'], { encoding: 'utf8' }).stdout;
    expect(kernel).toMatch(/qdisc htb 1: dev red0 root/);
    expect(kernel).toMatch(/qdisc ingress ffff: dev red0/);
    if (!/fq_codel/.test(kernel)) expect(result.warnings.some((w) => /no fq_codel qdisc/.test(w))).toBe(true);
  });

  it('status sees a class whose rate was changed behind its back', async () => {
    const result = applied!;
    const low = result.classes.find((c) => c.interface === 'red-red0-out' && c.class === 'low')!;
    sh(`tc class change dev red0 parent 1:1 classid ${low.classid} htb rate 80kbit ceil 3000kbit`);
    const diff = compareClasses(result.classes, await readLiveClasses(runner, ['red0', 'red0-ifb']));
    expect(diff).toEqual([`- red-red0-out class low (red0 ${low.classid}) rate 80kbit ceil 1600kbit`, `+ red0 ${low.classid} rate 80kbit ceil 3000kbit`]);
  });

  it("a FireQOS failure fails with FireQOS's own message", async () => {
    const bad = conf().replace('\t\tif [ -n "${GATEHOUSE_U32_MARK-}" ]; then match connmark 2; fi', '\t\tmatch nonsense 2');
    const error = await startFireqos(runner, bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as Error).message).toMatch(/fireqos start \(fireqos\.conf\) failed in netns:ghqos-\w+: .*(nonsense|ERROR)/);
  });

  it('a configuration without interfaces removes every qdisc and the IFB', async () => {
    await startFireqos(runner, conf());
    expect(sh('tc qdisc show dev red0')).toMatch(/htb/);
    await startFireqos(runner, '#@gatehouse leaf-qdisc fq_codel\n');
    expect(sh('tc qdisc show dev red0')).not.toMatch(/htb|ingress/);
    expect(sh('ip -o link show')).not.toMatch(/red0-ifb/);
  });

  it('fireqosBlock prints Mark 63 as 63 (the class mask is 0x3f)', () => {
    expect(fireqosBlock({ device: 'red0', name: 'x', inputRate: 1, outputRate: 1, linklayer: undefined, classes: [{ name: 'c', mark: 63, input: {}, output: {}, inboundMatches: [], inboundComplete: false }] }).lines).toContain('\t\tif [ -n "${GATEHOUSE_U32_MARK-}" ]; then match connmark 63; fi');
  });
});
