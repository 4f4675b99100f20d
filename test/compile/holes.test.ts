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

describe('an exclusion inside an address list', () => {
  it('every alternative of the list carries the exclusion: one address as a negated iprange', () => {
    const p = plan({ rules: 'DROP loc:192.168.1.0/24,192.168.5.1-192.168.5.9!192.168.1.50,192.168.5.5 net\n' });
    const set = /gh4-[0-9a-f]+/.exec(lines(p.rulesV4, '-A loc-net -')[0]!)![0];
    expect(lines(p.rulesV4, '-A loc-net -').filter((l) => l.includes('DROP'))).toEqual([
      `-A loc-net -s 192.168.1.0/24 -m set ! --match-set ${set} src -j DROP`,
      `-A loc-net -m iprange --src-range 192.168.5.1-192.168.5.9 -m set ! --match-set ${set} src -j DROP`,
    ]);
    expect(p.ipsets).toContain(`add ${set} 192.168.1.50\nadd ${set} 192.168.5.5\n`);
    const one = plan({ rules: 'DROP loc:192.168.5.1-192.168.5.9!192.168.5.0/30 net\n' });
    expect(lines(one.rulesV4, '-A loc-net -m')).toEqual(['-A loc-net -m iprange --src-range 192.168.5.1-192.168.5.9 -m iprange ! --src-range 192.168.5.0-192.168.5.3 -j DROP']);
  });

  it('each family keeps its own exclusions; a list left with none is a plain list', () => {
    const p = plan({ rules: 'ACCEPT net:198.51.100.0/24,[2001:db8::]/64!198.51.100.7 $FW tcp 22\n' });
    expect(lines(p.rulesV4, '-A net-fw -s')).toEqual(['-A net-fw -s 198.51.100.0/24 -m iprange ! --src-range 198.51.100.7-198.51.100.7 -p tcp --dport 22 -j ACCEPT']);
    expect(lines(p.rulesV6, '-A net-fw -s')).toEqual(['-A net-fw -s 2001:db8::/64 -p tcp --dport 22 -j ACCEPT']);
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

describe('state dispositions', () => {
  it("follow Shorewall's defaults when unset: RELATED accepted, INVALID and UNTRACKED continue to the rules", () => {
    const p = plan({});
    expect(lines(p.rulesV4, '-A INPUT -m conntrack')).toEqual(['-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT']);
  });

  it('each disposition and its log level become rules in INPUT, FORWARD and OUTPUT', () => {
    const conf = 'RELATED_DISPOSITION=REJECT\nINVALID_DISPOSITION=DROP\nINVALID_LOG_LEVEL=info\nUNTRACKED_DISPOSITION=ACCEPT\n';
    const p = plan({ 'shorewall.conf': conf });
    expect(lines(p.rulesV4, '-A FORWARD -m conntrack')).toEqual([
      '-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT',
      '-A FORWARD -m conntrack --ctstate RELATED -j reject',
      '-A FORWARD -m conntrack --ctstate INVALID -j LOG --log-prefix Shorewall:FORWARD:DROP: --log-level 6',
      '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
      '-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT',
    ]);
  });

  it('TCP_FLAGS_DISPOSITION and SMURF_LOG_LEVEL are honoured', () => {
    const p = plan({ interfaces: '?FORMAT 2\nloc eth0 -\nnet eth1 tcpflags,nosmurfs\n', 'shorewall.conf': 'TCP_FLAGS_DISPOSITION=REJECT\nSMURF_LOG_LEVEL=notice\n' });
    expect(lines(p.rulesV4, '-A tcpflags').every((l) => l.endsWith('-j reject'))).toBe(true);
    // Broadcast and multicast sources, in the in@ and fwd@ chains of eth1.
    expect(lines(p.rulesV4, '--log-prefix Shorewall:smurfs:DROP: --log-level 5')).toHaveLength(4);
  });

  it('refuses a disposition Shorewall does not allow, naming the setting', () => {
    expect(() => plan({ 'shorewall.conf': 'INVALID_DISPOSITION=ACCEPT\n' })).toThrow(/INVALID_DISPOSITION=ACCEPT is not valid/);
    expect(() => plan({ 'shorewall.conf': 'SMURF_DISPOSITION=A_DROP\n' })).toThrow(/audited/);
  });
});

describe('the end of INPUT, FORWARD and OUTPUT', () => {
  it('takes the all $FW, $FW all and all all policies, as Shorewall does for unlisted interfaces', () => {
    const p = plan({ policy: 'loc net ACCEPT\n$FW all ACCEPT\nall $FW DROP info\nall all REJECT\n' });
    const tail = (chain: string) => lines(p.rulesV4, `-A ${chain} -j`).slice(-1)[0];
    expect(tail('INPUT')).toBe('-A INPUT -j DROP');
    expect(lines(p.rulesV4, '-A INPUT -j LOG')).toEqual(['-A INPUT -j LOG --log-prefix Shorewall:INPUT:DROP: --log-level 6']);
    expect(tail('OUTPUT')).toBe('-A OUTPUT -j ACCEPT');
    expect(tail('FORWARD')).toBe('-A FORWARD -j reject');
  });

  it("without an all all line, Shorewall's defaults: INPUT DROP, FORWARD and OUTPUT REJECT, logged", () => {
    const p = plan({ policy: 'loc net ACCEPT\nloc $FW ACCEPT\n$FW loc ACCEPT\n$FW net ACCEPT\nnet all DROP\n' });
    expect(lines(p.rulesV4, '-A INPUT -j').slice(-2)).toEqual(['-A INPUT -j LOG --log-prefix Shorewall:INPUT:DROP: --log-level 6', '-A INPUT -j DROP']);
    expect(lines(p.rulesV4, '-A FORWARD -j').slice(-1)).toEqual(['-A FORWARD -j reject']);
  });
});

describe('routefilter', () => {
  it('drops failed reverse-path checks in raw PREROUTING, logging with logmartians, letting DHCP by', () => {
    const p = plan({ interfaces: '?FORMAT 2\nloc eth0 routefilter=2\nnet eth1 dhcp,routefilter,logmartians\n' });
    expect(lines(p.rulesV4, 'rpf@')).toEqual([
      ':rpf@eth0 - [0:0]',
      ':rpf@eth1 - [0:0]',
      '-A PREROUTING -i eth0 -j rpf@eth0',
      '-A PREROUTING -i eth1 -j rpf@eth1',
      '-A rpf@eth0 -m rpfilter --loose -j RETURN',
      '-A rpf@eth0 -j DROP',
      '-A rpf@eth1 -p udp --dport 67:68 -j RETURN',
      '-A rpf@eth1 -m rpfilter -j RETURN',
      '-A rpf@eth1 -j LOG --log-prefix Shorewall:rpfilter:DROP: --log-level 6',
      '-A rpf@eth1 -j DROP',
    ]);
  });
});

describe('DROP_DEFAULT and REJECT_DEFAULT', () => {
  it("run Shorewall6's AllowICMPs and Multicast(DROP) before the DROP policy, in IPv6 only for AllowICMPs", () => {
    const p = plan({ 'shorewall.conf': 'DROP_DEFAULT="AllowICMPs,Broadcast(DROP),Multicast(DROP)"\n' });
    const v6 = lines(p.rulesV6, '-A net-loc');
    expect(v6[0]).toBe('-A net-loc -p ipv6-icmp --icmpv6-type 1 -j ACCEPT');
    expect(v6).toContain('-A net-loc -p ipv6-icmp --icmpv6-type 135 -j ACCEPT');
    expect(v6.slice(-2)).toEqual(['-A net-loc -m addrtype --dst-type MULTICAST -j DROP', '-A net-loc -j DROP']);
    expect(lines(p.rulesV4, '-A net-loc')).toEqual(['-A net-loc -m addrtype --dst-type BROADCAST -j DROP', '-A net-loc -m addrtype --dst-type MULTICAST -j DROP', '-A net-loc -j DROP']);
  });

  it('refuses a default action Gatehouse cannot run', () => {
    expect(() => plan({ 'shorewall.conf': 'DROP_DEFAULT=dropNotSyn\n' })).toThrow(/default action 'dropNotSyn' is not supported/);
  });
});
