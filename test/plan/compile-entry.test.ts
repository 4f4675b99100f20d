/**
 * The one compile entry: the same files and inputs give byte-identical plan directories, the
 * target's interface addresses are an input recorded in plan.json, and they are asked for only
 * when a file can name one.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compilePlan, planDirectoryFiles, readPlan, writePlanDir } from '../../src/plan/index.js';
import { temporaryRoot } from '../apply/plans.js';

const GATEWAY = join(import.meta.dirname, '../golden/compile/gateway/input');
const SERVER = join(import.meta.dirname, '../golden/compile/server-mode/input');
const ADDRESSES = { eth1: { v4: ['203.0.113.2'], v6: [] } };

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

describe('the compile entry', () => {
  it('gives byte-identical plan directories for the same files and addresses', async () => {
    const one = planDirectoryFiles(await compilePlan({ dir: GATEWAY, interfaceAddresses: ADDRESSES }));
    const two = planDirectoryFiles(await compilePlan({ dir: GATEWAY, interfaceAddresses: async () => ADDRESSES }));
    expect(two).toEqual(one);
  });

  it('records the interface addresses it compiled with in plan.json', async () => {
    const root = await temporaryRoot();
    roots.push(root);
    await writePlanDir(join(root, 'next'), await compilePlan({ dir: GATEWAY, interfaceAddresses: ADDRESSES }));
    const manifest = JSON.parse(await readFile(join(root, 'next', 'plan.json'), 'utf8')) as { inputs: unknown; parts: Record<string, string[]> };
    expect(manifest.inputs).toEqual({ interfaceAddresses: ADDRESSES });
    expect(Object.keys(manifest.parts).sort()).toEqual(['filter.v4', 'filter.v6', 'ipsets', 'sysctls']);
    expect((await readPlan(join(root, 'next'))).plan.inputs).toEqual({ interfaceAddresses: ADDRESSES });
  });

  it('uses the addresses: a port forward to &eth1 matches the address, not the address type', async () => {
    const withAddresses = await compilePlan({ dir: GATEWAY, interfaceAddresses: ADDRESSES });
    const without = await compilePlan({ dir: GATEWAY });
    expect(withAddresses.rulesV4).toContain('-d 203.0.113.2');
    expect(without.rulesV4).not.toContain('-d 203.0.113.2');
  });

  it('does not ask the target when no file can name an interface address', async () => {
    let asked = false;
    const plan = await compilePlan({
      dir: SERVER,
      interfaceAddresses: async () => {
        asked = true;
        return ADDRESSES;
      },
    });
    expect(asked).toBe(false);
    expect(plan.inputs).toEqual({});
  });

  it('declares run-time sets in their own part, and no longer notes them as undefined', async () => {
    const plan = await compilePlan({ dir: GATEWAY, runtimeIpsets: [{ name: 'gh-block4', family: 4, type: 'hash:net', timeout: 0 }] });
    expect(plan.parts['runtime-ipsets']).toEqual({
      'runtime-ipsets': '# Run-time sets: created when missing, never emptied by Gatehouse. Generated; do not edit.\ncreate gh-block4 hash:net family inet maxelem 65536 timeout 0\n',
    });
    expect(plan.summary.notes.join('\n')).not.toContain('gh-block4');
  });
});
