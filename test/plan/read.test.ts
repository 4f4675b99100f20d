import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contentOf, ipsetsPart, parsePlan, readPlan, sysctlsPart } from '../../src/plan/index.js';
import { GatehouseError } from '../../src/errors/index.js';
import { gatewayPlan, temporaryRoot, writePlanFiles } from '../apply/plans.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

async function planDirWith(change: (files: ReturnType<typeof gatewayPlan>) => Partial<ReturnType<typeof gatewayPlan>>): Promise<string> {
  const root = await temporaryRoot();
  roots.push(root);
  return writePlanFiles(join(root, 'plan'), change(gatewayPlan()));
}

async function refusal(dir: string): Promise<string> {
  const e = await readPlan(dir).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GatehouseError);
  return (e as GatehouseError).format();
}

describe('plan validation', () => {
  it('a complete hand-written plan is read with its sets, sysctls and digests', async () => {
    const dir = await planDirWith((f) => ({ ...f, ipsets: 'create gw_blocked hash:ip family inet\nadd gw_blocked 192.0.2.7\n' }));
    const plan = await readPlan(dir);
    expect(contentOf(plan, ipsetsPart)).toEqual([{ name: 'gw_blocked', spec: 'hash:ip family inet', entries: ['192.0.2.7'] }]);
    expect(contentOf(plan, sysctlsPart)).toEqual([
      { key: 'net.ipv4.ip_forward', value: '1' },
      { key: 'net.ipv6.conf.all.forwarding', value: '1' },
    ]);
    expect(plan.digests['rules.v4']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a missing plan directory is refused with a hint to compile', async () => {
    expect(await refusal('/nonexistent/gatehouse/plan')).toMatch(/does not exist.*gatehouse compile/);
  });

  it('a plan missing files names every missing file of the parts it must hold', async () => {
    const dir = await planDirWith((f) => ({ 'rules.v4': f['rules.v4'], 'summary.json': f['summary.json'] }));
    expect(await refusal(dir)).toMatch(/missing stopped\.v4, rules\.v6, stopped\.v6 /);
  });

  it('an empty rules.v4 is refused: an empty ruleset would leave the firewall open', async () => {
    const dir = await planDirWith((f) => ({ ...f, 'rules.v4': '\n' }));
    expect(await refusal(dir)).toMatch(/rules\.v4: file is empty/);
  });

  it('a truncated ruleset (table without COMMIT) is refused naming the file', async () => {
    const dir = await planDirWith((f) => ({ ...f, 'rules.v6': f['rules.v6'].replace(/COMMIT\n$/, '') }));
    expect(await refusal(dir)).toMatch(/rules\.v6: table filter \(line \d+\) has no COMMIT/);
  });

  it('a foreign line in a ruleset is refused with its line number', async () => {
    const dir = await planDirWith((f) => ({ ...f, 'rules.v4': f['rules.v4'].replace('COMMIT\n*filter', 'COMMIT\n<html>\n*filter') }));
    expect(await refusal(dir)).toMatch(/rules\.v4:\d+: '<html>' outside a table/);
  });

  it('a stopped ruleset without the filter table is refused (it would be open)', async () => {
    const dir = await planDirWith((f) => ({ ...f, 'stopped.v4': '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n' }));
    expect(await refusal(dir)).toMatch(/stopped\.v4: the stopped ruleset does not declare the filter table/);
  });

  it('a sysctl line that is not key = value is refused with its line', async () => {
    const dir = await planDirWith((f) => ({ ...f, 'sysctl.conf': 'net.ipv4.ip_forward = 1\nforward everything\n' }));
    expect(await refusal(dir)).toMatch(/sysctl\.conf:2: not a sysctl setting/);
  });

  it('an ipset entry before its create line is refused', async () => {
    const dir = await planDirWith((f) => ({ ...f, ipsets: 'add gw_blocked 192.0.2.7\n' }));
    expect(await refusal(dir)).toMatch(/ipsets:1: add to set gw_blocked before its create line/);
  });

  it('a summary that is not JSON is refused', async () => {
    const dir = await planDirWith((f) => ({ ...f, 'summary.json': '{"chains": ' }));
    expect(await refusal(dir)).toMatch(/summary\.json: not valid JSON/);
  });

  it('parsing is pure: the same files give the same digests', () => {
    const files = gatewayPlan();
    expect(parsePlan('a', files).digests).toEqual(parsePlan('b', { ...files }).digests);
  });
});
