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

describe('DNAT and REDIRECT that change the port', () => {
  it('accept only connections whose original destination port was translated', () => {
    const p = plan({ rules: 'DNAT net loc:192.168.1.11:22 tcp 8443\nREDIRECT loc 3128 tcp 443\nDNAT net loc:192.168.1.12:80 tcp 8080,8081\n' });
    expect(lines(p.rulesV4, '-A net-loc -d')).toEqual([
      '-A net-loc -d 192.168.1.11 -p tcp --dport 22 -m conntrack --ctorigdstport 8443 -j ACCEPT',
      '-A net-loc -d 192.168.1.12 -p tcp --dport 80 -m conntrack --ctorigdstport 8080 -j ACCEPT',
      '-A net-loc -d 192.168.1.12 -p tcp --dport 80 -m conntrack --ctorigdstport 8081 -j ACCEPT',
    ]);
    expect(lines(p.rulesV4, '-A loc-fw -p tcp')).toEqual(['-A loc-fw -p tcp --dport 3128 -m conntrack --ctorigdstport 443 -j ACCEPT']);
  });

  it('a DNAT that keeps every port (no server port) matches the ports as they are', () => {
    const p = plan({ rules: 'DNAT net loc:192.168.1.11 tcp 22\n' });
    expect(lines(p.rulesV4, '-A net-loc -d')).toEqual(['-A net-loc -d 192.168.1.11 -p tcp --dport 22 -j ACCEPT']);
  });
});
