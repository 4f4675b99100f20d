import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/index.js';
import { type AppliedRecord, planPaths, readPlan } from '../../src/plan/index.js';
import { type Lab, createLab, labUnavailableReason } from '../lab/lab.js';
import { gatewayPlan, temporaryRoot, writePlanFiles } from './plans.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

describe.skipIf(why)('a hand-written plan applied into the lab gateway', () => {
  let lab: Lab;
  let root: string;
  beforeAll(async () => {
    [lab, root] = await Promise.all([createLab(), temporaryRoot()]);
    await writePlanFiles(planPaths(root).next, gatewayPlan());
    await applyPlan(root, { mode: { kind: 'netns', name: lab.ns.gw } });
  });
  afterAll(async () => {
    await lab?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('green to the DMZ web server is accepted', async () => {
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
  });

  it('blue to the DMZ on another port is rejected, not dropped', async () => {
    expect(await lab.probe('blue', 'orange', 'tcp', 22)).toBe('rejected');
  });

  it('blue to green is dropped by the FORWARD policy', async () => {
    const verdicts = await Promise.all([lab.probe('blue', 'green', 'tcp', 22), lab.probe('blue', 'green', 'udp', 53), lab.probe('blue', 'green', 'icmp')]);
    expect(verdicts).toEqual(['dropped', 'dropped', 'dropped']);
  });

  it('the internet host sees the LAN as the gateway red address (masquerading)', async () => {
    expect(await lab.seenSource('green', 'inet', 8443)).toBe('203.0.113.2');
  });

  it('a port forward takes the internet to the DMZ server, which sees the real client', async () => {
    expect(await lab.seenSource('inet', 'orange', 8080, { address: '203.0.113.2', listenPort: 80 })).toBe('198.51.100.10');
  });

  it('IPv6 from green to the DMZ web server is accepted and to another port dropped', async () => {
    const verdicts = await Promise.all([
      lab.probe('green', 'orange', 'tcp', 80, { family: 6 }),
      lab.probe('green', 'orange', 'tcp', 81, { family: 6 }),
    ]);
    expect(verdicts).toEqual(['accepted', 'dropped']);
  });

  it('sysctls of the plan are set in the gateway namespace', async () => {
    expect((await lab.exec('gw', 'sysctl', ['-n', 'net.ipv4.ip_forward'])).trim()).toBe('1');
  });

  it('applied.json records the time, the mode and the sha256 of every file', async () => {
    const applied = JSON.parse(await readFile(join(planPaths(root).current, 'applied.json'), 'utf8')) as AppliedRecord;
    const plan = await readPlan(planPaths(root).current);
    expect(applied.mode).toBe(`netns:${lab.ns.gw}`);
    expect(Date.now() - Date.parse(applied.appliedAt)).toBeLessThan(60_000);
    expect(applied.sha256).toEqual(plan.digests);
  });

  it('a new plan swaps the ipset contents in: a blocked source is dropped', async () => {
    expect(await lab.probe('blue', 'orange', 'tcp', 80)).toBe('accepted');
    await writePlanFiles(planPaths(root).next, gatewayPlan({ blocked: ['192.168.10.10'] }));
    await applyPlan(root, { mode: { kind: 'netns', name: lab.ns.gw } });
    expect(await lab.probe('blue', 'orange', 'tcp', 80)).toBe('dropped');
    expect(await lab.exec('gw', 'ipset', ['list', '-n'])).toBe('gw_blocked');
  });

  it('the plan that ran before is kept as previous', async () => {
    const previous = await readPlan(planPaths(root).previous);
    expect(previous.plan.parts['ipsets']?.['ipsets']).not.toContain('192.168.10.10');
  });
});
