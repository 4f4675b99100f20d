/**
 * The compiled form of the issue-16 fixes, checked without a kernel (the lab proofs are
 * in test/e2e/holes.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/index.js';
import { parseShorewall, type ShorewallFiles } from '../../src/shorewall/index.js';

const BASE: ShorewallFiles = {
  zones: 'fw firewall\nloc ipv4\nnet ipv4\n',
  interfaces: '?FORMAT 2\nloc eth0 -\nnet eth1 -\n',
  policy: 'loc net ACCEPT\n$FW all ACCEPT\nnet all DROP\nall all REJECT\n',
  rules: '',
};

function plan(changes: ShorewallFiles) {
  return compile(parseShorewall({ ...BASE, ...changes }, { family: 4, dir: '/t' }), undefined);
}
const lines = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle));

describe('negated address lists', () => {
  it('two or more negated networks become one negated set, never two -s', () => {
    const p = plan({ rules: 'DROP loc:!192.168.1.11,192.168.1.12 net\n' });
    const rule = lines(p.rulesV4, '-A loc-net -m set');
    expect(rule).toHaveLength(1);
    expect(rule[0]).toMatch(/^-A loc-net -m set ! --match-set gh4-[0-9a-f]+ src -j DROP$/);
    expect(p.ipsets).toContain('add ' + /gh4-[0-9a-f]+/.exec(rule[0]!)![0] + ' 192.168.1.11');
    expect(p.rulesV4).not.toMatch(/! -s \S+ ! -s/);
  });

  it('a single negated network stays a plain negated match', () => {
    const p = plan({ rules: 'DROP loc:!192.168.1.11 net\n' });
    expect(lines(p.rulesV4, '-A loc-net !')).toEqual(['-A loc-net ! -s 192.168.1.11 -j DROP']);
  });
});
