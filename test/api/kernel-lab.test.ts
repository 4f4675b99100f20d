/**
 * The blocklist's kernel side in a real kernel (a network namespace of its own per test).
 *
 * The long-lived `ipset -` process takes batches written one after another without waiting
 * (pipelined): each learns its own outcome, in order.
 *
 * The API's start racing an apply: the
 * start lists the kernel's sets, then loads the database with one ipset restore; an apply
 * that creates the blocklist sets in between must not make the start fail, and an apply
 * after it must leave the loaded entries alone.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBlocklistKernel, loadScript } from '../../src/api/index.js';
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

describe.skipIf(why)('the ipset process fed batches without waiting', () => {
  let ns: string;
  beforeEach(() => {
    ns = `ghlr-${randomBytes(3).toString('hex')}`;
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
  });
  afterEach(() => {
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('each batch settles with its own outcome, in order; a refused line fails only its batch, naming it', async () => {
    const kernel = createBlocklistKernel({ kind: 'netns', name: ns });
    try {
      await kernel.load([]);
      const order: string[] = [];
      const batch = (name: string, lines: string[]) =>
        kernel.apply(lines).then(
          () => void order.push(`${name} ok`),
          (e: Error) => void order.push(`${name} failed: ${e.message}`),
        );
      const many = Array.from({ length: 200 }, (_, i) => `add -exist ghbl-drop-input-4 10.0.${i >> 8}.${i & 255} timeout 0`);
      await Promise.all([
        batch('first', many),
        batch('second', ['add -exist ghbl-drop-input-4 198.51.100.10 timeout 0', 'add -exist ghbl-no-such-set 198.51.100.11 timeout 0', 'add -exist ghbl-drop-input-4 198.51.100.12 timeout 0']),
        batch('third', ['del -exist ghbl-drop-input-4 10.0.0.0']),
      ]);
      expect(order[0]).toBe('first ok');
      expect(order[1]).toMatch(/^second failed: ipset refused 'add -exist ghbl-no-such-set 198\.51\.100\.11 timeout 0': /);
      expect(order[2]).toBe('third ok');
      const saved = spawnSync('ip', ['netns', 'exec', ns, 'ipset', 'save', 'ghbl-drop-input-4'], { encoding: 'utf8' }).stdout;
      expect(saved.split('\n').filter((l) => l.startsWith('add '))).toHaveLength(201);
      expect(saved).toContain('198.51.100.12');
      expect(saved).not.toMatch(/ 10\.0\.0\.0 /);
    } finally {
      kernel.close();
    }
  });
});
