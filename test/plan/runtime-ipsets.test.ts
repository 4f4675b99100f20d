/** Run-time sets made without an option their declaration now has are migrated in place (src/plan/parts/runtime-ipsets.ts). */
import { describe, expect, it } from 'vitest';
import { migrateSet, missingFlags, savedElements } from '../../src/plan/parts/runtime-ipsets.js';
import type { KernelCommand, KernelRunner } from '../../src/plan/target.js';

describe('migrating a run-time set', () => {
  it('a live set lacking counters needs migrating; one that has them, or a declaration without them, does not', () => {
    expect(missingFlags('hash:net family inet maxelem 1048576 timeout 0 counters', 'family inet hashsize 1024 maxelem 1048576 timeout 0 bucketsize 12')).toEqual(['counters']);
    expect(missingFlags('hash:net family inet timeout 0 counters', 'family inet hashsize 1024 timeout 0 counters bucketsize 12')).toEqual([]);
    expect(missingFlags('hash:net family inet timeout 0', 'family inet timeout 0')).toEqual([]);
  });

  it('copies every entry with the time it has left, swaps, then carries over what changed during the copy, and destroys the old set', async () => {
    const run: KernelCommand[] = [];
    let saves = 0;
    const target: KernelRunner = {
      mode: { kind: 'netns', name: 'x' },
      async run(c: KernelCommand) {
        run.push(c);
        if (c.args[0] !== 'save') return '';
        saves++;
        // The first save is the live set; the second the old set after the swap, where the API added one entry and deleted one meanwhile.
        return saves === 1
          ? 'create s hash:net family inet timeout 0\nadd s 203.0.113.7 timeout 0\nadd s 203.0.113.8 timeout 41\n'
          : 'create gh-migrate-set hash:net family inet timeout 0\nadd gh-migrate-set 203.0.113.7 timeout 0\nadd gh-migrate-set 198.51.100.9 timeout 300\n';
      },
      async preflight() {},
    } as unknown as KernelRunner;
    await migrateSet(target, 's', 'hash:net family inet timeout 0 counters');
    const restores = run.filter((c) => c.args[0] === 'restore').map((c) => c.input);
    expect(restores[0]).toBe('create gh-migrate-set hash:net family inet timeout 0 counters\nadd -exist gh-migrate-set 203.0.113.7 timeout 0\nadd -exist gh-migrate-set 203.0.113.8 timeout 41\nswap gh-migrate-set s\n');
    expect(restores[1]).toBe('add -exist s 198.51.100.9 timeout 300\ndel -exist s 203.0.113.8\ndestroy gh-migrate-set\n');
  });

  it('reads the elements of an ipset save, by element', () => {
    expect([...savedElements('create s hash:net,iface\nadd s 1.2.3.0/24,eth wildcard timeout 0\nadd other 1.1.1.1\n', 's')]).toEqual([['1.2.3.0/24,eth', '1.2.3.0/24,eth wildcard timeout 0']]);
  });
});
