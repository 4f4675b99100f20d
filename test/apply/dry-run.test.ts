import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/index.js';
import { planPaths } from '../../src/plan/index.js';
import { describeError } from '../../src/errors/index.js';
import { gatewayPlan, temporaryRoot, writePlanFiles } from './plans.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

async function rootWithNextPlan(): Promise<string> {
  const root = await temporaryRoot();
  roots.push(root);
  await writePlanFiles(planPaths(root).next, gatewayPlan({ blocked: ['192.0.2.7'] }));
  return root;
}

describe('dry-run apply', () => {
  it('prints the kernel commands in order: ipsets built and swapped in one restore, v4, v6, sysctls', async () => {
    const root = await rootWithNextPlan();
    const printed: string[] = [];
    await applyPlan(root, { mode: { kind: 'dry-run' }, print: (l) => printed.push(l) });
    expect(printed).toEqual([
      `# dry-run: plan ${planPaths(root).next} would be applied with:`,
      'ipset list -n',
      'ipset restore < ipsets, then swaps (3 lines)',
      expect.stringMatching(/^iptables-restore --noflush < rules\.v4 \(\d+ lines\)$/),
      expect.stringMatching(/^ip6tables-restore --noflush < rules\.v6 \(\d+ lines\)$/),
      'sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1',
    ]);
  });

  it('touches no plan directory', async () => {
    const root = await rootWithNextPlan();
    await applyPlan(root, { mode: { kind: 'dry-run' }, print: () => {} });
    expect(await readdir(planPaths(root).base)).toEqual(['next']);
  });

  it('a corrupt plan is refused before any command is printed', async () => {
    const root = await rootWithNextPlan();
    await rm(join(planPaths(root).next, 'rules.v6'));
    const printed: string[] = [];
    await expect(applyPlan(root, { mode: { kind: 'dry-run' }, print: (l) => printed.push(l) })).rejects.toThrow(/missing rules\.v6/);
    expect(printed).toEqual([]);
  });
});

describe('netns mode preflight', () => {
  it('a namespace that does not exist is refused before anything runs', async () => {
    const root = await rootWithNextPlan();
    await expect(applyPlan(root, { mode: { kind: 'netns', name: 'gh-no-such-ns-4711' } })).rejects.toThrow(
      /network namespace 'gh-no-such-ns-4711' does not exist/,
    );
    expect(await readdir(planPaths(root).base)).toEqual(['next']);
  });

  it('a missing kernel command is named with the package to install', async () => {
    const root = await rootWithNextPlan();
    const e = await applyPlan(root, { mode: { kind: 'netns', name: 'whatever' }, env: { PATH: '/nonexistent' } }).catch((err: unknown) => err);
    expect(describeError(e)).toMatch(/kernel commands not found: ip, .*ipset.*iptables-restore.*install the Debian packages \(iproute2, .*iptables/);
  });
});
