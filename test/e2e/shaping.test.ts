/**
 * Traffic shaping proved by measured throughput, configured through `db` and
 * `signal-event` only. The red interface is declared at 10,000 kbit/s each way; class
 * `low` (Mark 3) has a ceil of 20% and takes TCP port 5201; class `bulk` (Mark 63, the top
 * of the 0x3f class mask) has a commit of 50% and takes port 5203; port 5202 is
 * unclassified. iperf3 runs between the LAN host (green) and the internet host (inet),
 * through the gateway. This machine's kernel has no act_connmark, so download traffic is
 * classified by the rules' ports (the fallback the model writes into fireqos.conf).
 *
 * Throughput on a shared, busy machine is noisy, so the bounds carry stated tolerances:
 *   - a class with a ceil: measured <= ceil * (1 + CEIL_TOLERANCE)
 *   - unclassified traffic alone: measured >= 80% of the declared rate * (1 - FLOOR_TOLERANCE)
 *   - a class with a commit, competing: measured >= commit * (1 - FLOOR_TOLERANCE)
 * Every measured figure is printed, with its accuracy (measured / configured).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, closeLabRoot, openLabRoot } from './harness.js';

const CEIL_TOLERANCE = 0.15;
const FLOOR_TOLERANCE = 0.1;
const RATE_KBIT = 10_000;
const SECONDS = 4;

function why(): string | undefined {
  const lab = labUnavailableReason();
  if (lab) return lab;
  for (const tool of ['iperf3', 'fireqos', 'tc']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (Debian: ${tool === 'tc' ? 'iproute2' : tool})`;
  return undefined;
}
const skip = why();
if (skip) console.warn(`skipped the shaping lab: ${skip}`);

const INET = '198.51.100.10';
const figures: string[] = [];

function report(what: string, measuredKbit: number, configuredKbit: number, bound: string): void {
  const line = `${what}: ${(measuredKbit / 1000).toFixed(2)} Mbit/s measured, ${(configuredKbit / 1000).toFixed(2)} Mbit/s configured, accuracy ${((measuredKbit / configuredKbit) * 100).toFixed(1)}% (${bound})`;
  figures.push(line);
  console.log(line);
}

describe.skipIf(skip)('traffic shaping in the lab, measured', { timeout: 600_000 }, () => {
  let lab: Lab;
  let gh: E2eRoot;
  const servers: ChildProcess[] = [];

  /** One iperf3 server per port in the internet host, for the whole file. */
  function serve(port: number): void {
    const child = spawn('ip', ['netns', 'exec', lab.ns.inet, 'iperf3', '-s', '-p', String(port)], { stdio: 'ignore' });
    servers.push(child);
  }

  /** A bulk TCP transfer through the gateway; kbit/s received. Download: the internet host sends. */
  async function measure(port: number, direction: 'upload' | 'download'): Promise<number> {
    const args = ['-c', INET, '-p', String(port), '-t', String(SECONDS), '-O', '1', '-J', ...(direction === 'download' ? ['-R'] : [])];
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await lab.exec('green', 'iperf3', args);
        const result = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
        return result.end.sum_received.bits_per_second / 1000;
      } catch (e) {
        // The server may still be starting, or busy with the previous client for a moment.
        if (attempt >= 4) throw e;
        await sleep(500);
      }
    }
  }

  /** Low is still capped (the running shaping was left as it was). */
  const measureLow = () => measure(5201, 'upload');
  const up = (kbit: number) => kbit <= RATE_KBIT * 0.2 * (1 + CEIL_TOLERANCE);

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot());
    for (const port of [5201, 5202, 5203]) serve(port);
    await gh.db('networks', 'setprop', 'red0', 'FwInBandwidth', String(RATE_KBIT), 'FwOutBandwidth', String(RATE_KBIT));
    await gh.db('tc', 'setprop', 'low', 'MaxInputRate', '20', 'MaxOutputRate', '20');
    await gh.db('tc', 'set', 'bulk', 'class', 'Mark', '63', 'MinInputRate', '50', 'MinOutputRate', '50', 'Description', 'backups');
    await gh.db('fwservices', 'set', 'iperf-low', 'fwservice', 'Protocol', 'tcp', 'Ports', '5201');
    await gh.db('fwservices', 'set', 'iperf-bulk', 'fwservice', 'Protocol', 'tcp', 'Ports', '5203');
    await gh.db('fwrules', 'set', '10', 'rule', 'Src', 'role;green', 'Dst', 'role;red', 'Service', 'fwservice;iperf-low', 'Action', 'class;low', 'status', 'enabled', 'Position', '1');
    await gh.db('fwrules', 'set', '11', 'rule', 'Src', 'role;green', 'Dst', 'role;red', 'Service', 'fwservice;iperf-bulk', 'Action', 'class;bulk', 'status', 'enabled', 'Position', '2');
    const started = Date.now();
    await gh.adjust();
    console.log(`firewall-adjust with traffic shaping into the lab: ${Date.now() - started} ms`);
  }, 600_000);

  afterAll(async () => {
    for (const s of servers) s.kill();
    if (figures.length > 0) console.log(['shaping accuracy (measured / configured):', ...figures].join('\n  '));
    await closeLabRoot({ lab, gh });
  }, 120_000);

  it('FireQOS holds the classes on red0 and its IFB, and status finds them as applied', async () => {
    const classes = await lab.exec('gw', 'tc', ['class', 'show', 'dev', 'red0']);
    expect(classes).toMatch(/rate 100Kbit ceil 2Mbit/); // low: ceil 20% of 10 Mbit (FireQOS commits 1% by default)
    expect(classes).toMatch(/rate 5Mbit ceil 10Mbit/); // bulk: commit 50%
    expect(await lab.exec('gw', 'tc', ['class', 'show', 'dev', 'red0-ifb'])).toMatch(/rate 100Kbit ceil 2Mbit/);
    const status = await gh.gatehouse(['status', '--apply', `netns:${lab.ns.gw}`]);
    expect(status.stdout + status.stderr).not.toMatch(/qos.*differ|^- .*class/m);
    // This kernel has no fq_codel: the fallback is kept with the plan and shown, never hidden.
    expect(status.stdout).toMatch(/^warning: traffic shaping: the target kernel has no fq_codel qdisc: every class uses pfifo instead/m);
  });

  it('upload and download in low stay at or below 2 Mbit/s (+ tolerance)', async () => {
    const ceil = RATE_KBIT * 0.2;
    const up = await measure(5201, 'upload');
    report('low (ceil 20%) upload', up, ceil, `<= ceil +${CEIL_TOLERANCE * 100}%`);
    const down = await measure(5201, 'download');
    report('low (ceil 20%) download', down, ceil, `<= ceil +${CEIL_TOLERANCE * 100}%`);
    expect(up).toBeLessThanOrEqual(ceil * (1 + CEIL_TOLERANCE));
    expect(down).toBeLessThanOrEqual(ceil * (1 + CEIL_TOLERANCE));
    // Shaped, not blocked: the class gets a good share of its ceil.
    expect(up).toBeGreaterThan(ceil * 0.5);
    expect(down).toBeGreaterThan(ceil * 0.5);
  });

  it('unclassified traffic alone reaches at least 80% of the declared rate, and no more than it', async () => {
    const floor = RATE_KBIT * 0.8;
    const up = await measure(5202, 'upload');
    report('unclassified upload (default class)', up, RATE_KBIT, `>= 80% -${FLOOR_TOLERANCE * 100}%`);
    const down = await measure(5202, 'download');
    report('unclassified download (default class)', down, RATE_KBIT, `>= 80% -${FLOOR_TOLERANCE * 100}%`);
    expect(up).toBeGreaterThanOrEqual(floor * (1 - FLOOR_TOLERANCE));
    expect(down).toBeGreaterThanOrEqual(floor * (1 - FLOOR_TOLERANCE));
    expect(up).toBeLessThanOrEqual(RATE_KBIT * (1 + CEIL_TOLERANCE));
    expect(down).toBeLessThanOrEqual(RATE_KBIT * (1 + CEIL_TOLERANCE));
  });

  it('competing with unclassified traffic, bulk (Mark 63, commit 50%) gets at least its commit, both ways', async () => {
    const commit = RATE_KBIT * 0.5;
    for (const direction of ['upload', 'download'] as const) {
      const [bulk, other] = await Promise.all([measure(5203, direction), measure(5202, direction)]);
      report(`bulk (commit 50%, Mark 63) ${direction}, competing`, bulk, commit, `>= commit -${FLOOR_TOLERANCE * 100}%`);
      report(`unclassified ${direction}, competing with bulk`, other, RATE_KBIT, 'share of the rest');
      expect(bulk).toBeGreaterThanOrEqual(commit * (1 - FLOOR_TOLERANCE));
      expect(bulk + other).toBeLessThanOrEqual(RATE_KBIT * (1 + CEIL_TOLERANCE));
    }
    // Mark 63 classified the upload: its class on red0 carried the bytes.
    const stats = await lab.exec('gw', 'tc', ['-s', 'class', 'show', 'dev', 'red0']);
    const bulkClass = /class htb (\S+) [^\n]*rate 5Mbit ceil 10Mbit[^\n]*\n\s*Sent (\d+) bytes/.exec(stats);
    expect(Number(bulkClass?.[2] ?? 0)).toBeGreaterThan(1_000_000);
  });

  it('a class rule naming a missing class is refused, and the running shaping stays', async () => {
    // db may refuse it outright; if it takes it, the event must fail naming the record, changing nothing.
    const written = await gh.db('fwrules', 'set', '12', 'rule', 'Src', 'role;green', 'Dst', 'role;red', 'Service', 'any', 'Action', 'class;nope', 'status', 'enabled').then(
      () => true,
      (e: unknown) => {
        expect(String(e)).toMatch(/nope/);
        return false;
      },
    );
    if (written) {
      const event = await gh.signal('firewall-adjust');
      expect(event.code).not.toBe(0);
      expect(event.stderr).toMatch(/fwrules\/12\/Action: refers to class 'nope', which does not exist/);
      await gh.db('fwrules', 'delete', '12');
    }
    expect(await lab.exec('gw', 'tc', ['class', 'show', 'dev', 'red0'])).toMatch(/ceil 2Mbit/);
    expect(up(await measureLow())).toBe(true);
  });

  it("a FireQOS failure fails the event with FireQOS's own message; the running filter and shaping stay as they were", async () => {
    const custom = join(gh.root, 'etc/gatehouse/templates-custom/etc/firehol/fireqos.conf');
    const kernel = async (): Promise<string> =>
      [
        (await lab.exec('gw', 'iptables-save', [])).replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, ''),
        await lab.exec('gw', 'tc', ['class', 'show', 'dev', 'red0']),
        await lab.exec('gw', 'tc', ['class', 'show', 'dev', 'red0-ifb']),
      ].join('\n');
    const before = await kernel();
    // The event also carries a filter change, which must not reach the kernel either.
    await gh.db('fwrules', 'set', '13', 'rule', 'Src', 'role;green', 'Dst', 'any', 'Service', '5299', 'Action', 'reject', 'status', 'enabled', 'Position', '3');
    await mkdir(custom, { recursive: true });
    await writeFile(join(custom, '30broken'), '\t\tmatch nonsense 2\n');
    const event = await gh.signal('firewall-adjust');
    await rm(join(custom, '30broken'));
    await gh.db('fwrules', 'delete', '13');
    expect(event.code, 'firewall-adjust must fail').not.toBe(0);
    expect(event.stderr).toMatch(/part qos/);
    expect(event.stderr, "FireQOS's own words").toMatch(/nonsense/);
    expect(await kernel(), 'the running filter and shaping').toBe(before);
    expect(up(await measureLow())).toBe(true);
  });

  it('gatehouse stop clears shaping; the next firewall-adjust brings it back', async () => {
    const stop = await gh.gatehouse(['stop', '--apply', `netns:${lab.ns.gw}`]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await lab.exec('gw', 'tc', ['qdisc', 'show'])).not.toMatch(/htb|ingress/);
    expect(await lab.exec('gw', 'ip', ['-o', 'link', 'show'])).not.toMatch(/ifb/);
    await gh.adjust();
    expect(await lab.exec('gw', 'tc', ['class', 'show', 'dev', 'red0'])).toMatch(/rate 100Kbit ceil 2Mbit/);
  });

  it('clearing the bandwidths removes every qdisc and the IFB', async () => {
    await gh.db('networks', 'delprop', 'red0', 'FwInBandwidth', 'FwOutBandwidth');
    await gh.adjust();
    const qdiscs = await lab.exec('gw', 'tc', ['qdisc', 'show']);
    expect(qdiscs).not.toMatch(/htb|ingress/);
    expect(await lab.exec('gw', 'ip', ['-o', 'link', 'show'])).not.toMatch(/ifb/);
    const up = await measure(5201, 'upload');
    report('low upload with shaping disabled (unshaped veth)', up, RATE_KBIT * 0.2, 'no ceil any more');
    expect(up).toBeGreaterThan(RATE_KBIT * 0.2 * (1 + CEIL_TOLERANCE));
  });
});
