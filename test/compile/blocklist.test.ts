/** Where the blocklist sits in a filter table, and what its chains match (src/compile/blocklist.ts). */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blocklistSets, emitRuleset, withBlocklist } from '../../src/compile/index.js';
import { TableBuilder } from '../../src/compile/ir.js';

function table() {
  const t = new TableBuilder('filter', { INPUT: 'DROP', FORWARD: 'DROP', OUTPUT: 'DROP' });
  t.add('INPUT', [{ kind: 'inInterface', name: 'lo' }], { kind: 'ACCEPT' });
  t.add('OUTPUT', [{ kind: 'outInterface', name: 'lo' }], { kind: 'ACCEPT' });
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) t.add(chain, [{ kind: 'conntrackState', states: ['ESTABLISHED', 'RELATED'] }], { kind: 'ACCEPT' });
  return t.build();
}

describe('the blocklist in the filter table', () => {
  it('jumped to after the loopback accept and before the connection-state accept; drop sets, then drop pairs, before accept sets and pairs', () => {
    const text = emitRuleset({ family: 4, tables: [withBlocklist(table(), 4)] });
    expect(text.split('\n').filter((l) => l.startsWith('-A'))).toEqual([
      '-A INPUT -i lo -j ACCEPT',
      '-A INPUT -j blocklist@input',
      '-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-A FORWARD -j blocklist@forward',
      '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-A OUTPUT -o lo -j ACCEPT',
      '-A OUTPUT -j blocklist@output',
      '-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-A blocklist@input -m set --match-set ghbl-drop-input-4 src -j DROP',
      '-A blocklist@input -m set --match-set ghbl-drop-input-if-4 src,src -j DROP',
      '-A blocklist@input -m set --match-set ghbl-accept-input-4 src -j ACCEPT',
      '-A blocklist@input -m set --match-set ghbl-accept-input-if-4 src,src -j ACCEPT',
      '-A blocklist@forward -m set --match-set ghbl-drop-forward-4 src -j DROP',
      '-A blocklist@forward -m set --match-set ghbl-drop-forward-if-4 src,src -j DROP',
      '-A blocklist@forward -j runtime-blocklist-drop',
      '-A blocklist@forward -m set --match-set ghbl-accept-forward-4 src -j ACCEPT',
      '-A blocklist@forward -m set --match-set ghbl-accept-forward-if-4 src,src -j ACCEPT',
      '-A blocklist@forward -j runtime-blocklist-accept',
      '-A blocklist@output -m set --match-set ghbl-drop-output-4 dst -j DROP',
      '-A blocklist@output -m set --match-set ghbl-drop-output-if-4 dst,dst -j DROP',
      '-A blocklist@output -m set --match-set ghbl-accept-output-4 dst -j ACCEPT',
      '-A blocklist@output -m set --match-set ghbl-accept-output-if-4 dst,dst -j ACCEPT',
    ]);
    // The pair chains are declared, empty: the API fills them, and plan applies never flush them.
    expect(text).toContain(':runtime-blocklist-drop - [0:0]');
    expect(text).toContain(':runtime-blocklist-accept - [0:0]');
  });

  it('24 sets, hash:net and hash:net,iface per family, action and chain, with timeouts and counters', () => {
    const sets = blocklistSets();
    expect(sets).toHaveLength(24);
    expect(sets.find((s) => s.name === 'ghbl-drop-output-if-6')?.spec).toBe('hash:net,iface family inet6 maxelem 1048576 timeout 0 counters');
  });

  const root = typeof process.getuid === 'function' && process.getuid() === 0 && spawnSync('sh', ['-c', 'command -v ipset'], { stdio: 'ignore' }).status === 0;
  if (!root) console.warn('skipped: loading the blocklist into a kernel needs root and ipset');
  it.skipIf(!root)('the kernel takes the sets and both rulesets (iptables-restore --test in a throwaway namespace)', () => {
    const ns = `ghbl-${randomBytes(3).toString('hex')}`;
    spawnSync('ip', ['netns', 'add', ns]);
    try {
      const create = blocklistSets().map((s) => `create ${s.name} ${s.spec}`).join('\n') + '\n';
      const sets = spawnSync('ip', ['netns', 'exec', ns, 'ipset', 'restore'], { input: create, encoding: 'utf8' });
      expect(sets.status, sets.stderr).toBe(0);
      for (const family of [4, 6] as const) {
        const r = spawnSync('ip', ['netns', 'exec', ns, family === 4 ? 'iptables-restore' : 'ip6tables-restore', '--test'], {
          input: emitRuleset({ family, tables: [withBlocklist(table(), family)] }),
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
      }
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  });
});
