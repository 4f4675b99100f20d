/**
 * The API's start racing an apply, in a real kernel (a network namespace of its own): the
 * start lists the kernel's sets, then loads the database with one ipset restore; an apply
 * that creates the blocklist sets in between must not make the start fail, and an apply
 * after it must leave the loaded entries alone.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadScript } from '../../src/api/index.js';
import { createKernelRunner } from '../../src/apply/index.js';
import { blocklistSets } from '../../src/compile/index.js';
import { runtimeIpsetsPart } from '../../src/plan/parts/runtime-ipsets.js';
import type { BlockEntry } from '../../src/api/index.js';
import { labUnavailableReason } from '../lab/lab.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const ENTRY: BlockEntry = { action: 'drop', chain: 'input', interface: 'any', family: 4, address: '198.51.100.10/32' } as BlockEntry;

describe.skipIf(why)('the API start racing an apply that creates the blocklist sets', () => {
  let ns: string;
  const ipset = (args: string[], input?: string) => spawnSync('ip', ['netns', 'exec', ns, 'ipset', ...args], { input, encoding: 'utf8' });
  const applyRuntimeSets = () =>
    runtimeIpsetsPart.apply(createKernelRunner({ kind: 'netns', name: ns }), blocklistSets().map(({ name, spec }) => ({ name, spec })), {
      sameAsBefore: false,
      prepared: undefined,
      settled: new AbortController().signal,
    });

  beforeEach(() => {
    ns = `ghlr-${randomBytes(3).toString('hex')}`;
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
  });
  afterEach(() => {
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('an apply creating the sets between the start listing the kernel and loading it: the start still loads every entry', async () => {
    // What the start saw: no sets yet (a fresh boot, the firewall unit still applying).
    const script = loadScript([{ entry: ENTRY }], new Set());
    await applyRuntimeSets();
    const load = ipset(['restore'], script);
    expect(load.status, `the API's start failed: ${load.stderr}`).toBe(0);
    expect(ipset(['save', 'ghbl-drop-input-4']).stdout).toMatch(/^add ghbl-drop-input-4 198\.51\.100\.10 timeout 0 packets 0 bytes 0$/m);
    expect(ipset(['list', '-n']).stdout.split('\n').filter((n) => n.startsWith('ghbl-next-'))).toEqual([]);
  });

  it('an apply after the load leaves the loaded entries in place', async () => {
    expect(ipset(['restore'], loadScript([{ entry: ENTRY }], new Set())).status).toBe(0);
    await applyRuntimeSets();
    expect(ipset(['save', 'ghbl-drop-input-4']).stdout).toMatch(/^add ghbl-drop-input-4 198\.51\.100\.10 /m);
  });
});
