import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../../src/compile/index.js';
import { parseShorewall, type ShorewallFiles } from '../../src/shorewall/index.js';

const BASE: ShorewallFiles = {
  zones: 'fw firewall\nloc ipv4\nnet ipv4\n',
  interfaces: '?FORMAT 2\nloc eth0 routeback\nnet eth1 dhcp\n',
  policy: 'loc net ACCEPT\n$FW all ACCEPT\nnet all DROP\nall all REJECT\n',
  rules: '',
};

function plan(changes: ShorewallFiles, options?: CompileOptions) {
  return compile(parseShorewall({ ...BASE, ...changes }, { family: 4, dir: '/t' }), undefined, options);
}
const lines = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle));

describe('&eth1 in ORIGDEST', () => {
  const rules = 'DNAT net loc:192.168.1.10:22 tcp 2222 - &eth1\nDNAT loc loc:192.168.1.10:22 tcp 2222 - &eth1\n';

  it('matches the supplied address exactly when it is known', () => {
    const p = plan({ rules }, { interfaceAddresses: { eth1: { v4: ['198.51.100.2'], v6: [] } } });
    expect(lines(p.rulesV4, '-j DNAT')).toEqual([
      '-A dnat@net -d 198.51.100.2 -p tcp --dport 2222 -j DNAT --to-destination 192.168.1.10:22',
      '-A dnat@loc -d 198.51.100.2 -p tcp --dport 2222 -j DNAT --to-destination 192.168.1.10:22',
    ]);
  });

  it('without the address, a hairpin source matches local addresses not on its own interface', () => {
    const p = plan({ rules });
    expect(lines(p.rulesV4, '-j DNAT')).toEqual([
      '-A dnat@net -i eth1 -m addrtype --dst-type LOCAL --limit-iface-in -p tcp --dport 2222 -j DNAT --to-destination 192.168.1.10:22',
      '-A dnat@loc -i eth0 -m addrtype --dst-type LOCAL -m addrtype ! --dst-type LOCAL --limit-iface-in -p tcp --dport 2222 -j DNAT --to-destination 192.168.1.10:22',
    ]);
  });

  it('accepts the forwarded connection in the zone-pair chain of the target zone, only as translated', () => {
    const p = plan({ rules });
    expect(lines(p.rulesV4, '-A net-loc -d 192.168.1.10')).toEqual(['-A net-loc -d 192.168.1.10 -m conntrack --ctstate DNAT -p tcp --dport 22 -m conntrack --ctorigdstport 2222 -j ACCEPT']);
    expect(lines(p.rulesV4, '-A loc-loc -d 192.168.1.10')).toEqual(['-A loc-loc -d 192.168.1.10 -m conntrack --ctstate DNAT -p tcp --dport 22 -m conntrack --ctorigdstport 2222 -j ACCEPT']);
  });

  // Review finding: the accept of a forward that keeps its port matched any packet to the
  // internal host and port, so the internet reached it directly, untranslated (false accept).
  const samePort = 'DNAT net loc:192.168.1.10 tcp 9090 - &eth1\n';

  it('a forward that keeps its port, with the address unknown, accepts only connections a nat rule translated', () => {
    const p = plan({ rules: samePort });
    expect(lines(p.rulesV4, '-A net-loc -d 192.168.1.10')).toEqual(['-A net-loc -d 192.168.1.10 -m conntrack --ctstate DNAT -p tcp --dport 9090 -j ACCEPT']);
  });

  // Red waiting for DHCP when the event runs: the forward must work once the lease comes,
  // without another event, and still only as translated.
  it('a forward on an interface known to have no address yet matches its address when the packet arrives', () => {
    const p = plan({ rules: samePort }, { interfaceAddresses: { eth1: { v4: [], v6: ['2001:db8::2'] } } });
    expect(lines(p.rulesV4, '-j DNAT')).toEqual(['-A dnat@net -i eth1 -m addrtype --dst-type LOCAL --limit-iface-in -p tcp --dport 9090 -j DNAT --to-destination 192.168.1.10']);
    expect(lines(p.rulesV4, '-A net-loc -d 192.168.1.10')).toEqual(['-A net-loc -d 192.168.1.10 -m conntrack --ctstate DNAT -p tcp --dport 9090 -j ACCEPT']);
  });

  it('an ACCEPT rule naming an interface known to have no address matches nothing', () => {
    const p = plan({ rules: 'ACCEPT net loc:192.168.1.10 tcp 22 - &eth1\n' }, { interfaceAddresses: { eth1: { v4: [], v6: [] } } });
    expect(lines(p.rulesV4, '-A net-loc -d 192.168.1.10')).toEqual([]);
  });

  it('a forward on a known address accepts only connections first addressed to it', () => {
    const p = plan({ rules: samePort }, { interfaceAddresses: { eth1: { v4: ['198.51.100.2'], v6: [] } } });
    expect(lines(p.rulesV4, '-A net-loc -d 192.168.1.10')).toEqual(['-A net-loc -d 192.168.1.10 -m conntrack --ctorigdst 198.51.100.2 -p tcp --dport 9090 -j ACCEPT']);
  });
});

describe('a negated ORIGDEST', () => {
  // Review finding: !a compiled as --ctorigdst a, accepting exactly what the rule excludes.
  it('accepts connections whose original destination is none of the listed addresses', () => {
    const p = plan({ rules: 'ACCEPT net loc:192.168.1.10 tcp 22 - !198.51.100.2,198.51.100.3\n' });
    expect(lines(p.rulesV4, '-A net-loc -d 192.168.1.10')).toEqual([
      '-A net-loc -d 192.168.1.10 -m conntrack ! --ctorigdst 198.51.100.2 -m conntrack ! --ctorigdst 198.51.100.3 -p tcp --dport 22 -j ACCEPT',
    ]);
  });

  it('of an interface whose address is unknown is refused, naming the line', () => {
    expect(() => plan({ rules: 'DNAT net loc:192.168.1.10 tcp 22 - !&eth1\n' })).toThrow(/ORIGDEST !&interface needs the interface address/);
  });
});

describe('families', () => {
  it('a rule with IPv4 addresses goes only into the IPv4 ruleset', () => {
    const p = plan({ rules: 'DROP loc net:203.0.113.0/24\n' });
    expect(lines(p.rulesV4, '203.0.113.0/24')).toHaveLength(1);
    expect(lines(p.rulesV6, 'loc-net -d')).toHaveLength(0);
  });

  it('a rule with no address goes into both rulesets', () => {
    const p = plan({ rules: 'ACCEPT net $FW tcp 22\n' });
    expect(lines(p.rulesV4, '-A net-fw -p tcp --dport 22 -j ACCEPT')).toHaveLength(1);
    expect(lines(p.rulesV6, '-A net-fw -p tcp --dport 22 -j ACCEPT')).toHaveLength(1);
  });

  it('Ping becomes ICMP echo in IPv4 and ICMPv6 echo in IPv6', () => {
    const p = plan({ rules: 'Ping(ACCEPT) net $FW\n' });
    expect(lines(p.rulesV4, '-A net-fw -p')).toEqual(['-A net-fw -p icmp --icmp-type 8 -j ACCEPT']);
    expect(lines(p.rulesV6, '-A net-fw -p')).toEqual(['-A net-fw -p ipv6-icmp --icmpv6-type 128 -j ACCEPT']);
  });

  it('IPv6 keeps neighbour discovery working whatever the policy', () => {
    const p = plan({});
    expect(lines(p.rulesV6, '-A INPUT -p ipv6-icmp --icmpv6-type neighbour-solicitation')).toHaveLength(1);
  });
});

describe('zone pairs and policies', () => {
  it('a packet meets only its zone pair: dispatch jumps by interface into loc-net', () => {
    const p = plan({});
    expect(lines(p.rulesV4, '-A fwd@eth0 -o eth1')).toEqual(['-A fwd@eth0 -o eth1 -j loc-net']);
  });

  it('the policy closes each pair chain, after the rules', () => {
    const p = plan({ rules: 'ACCEPT net $FW tcp 22\n' });
    expect(lines(p.rulesV4, '-A net-fw')).toEqual(['-A net-fw -p tcp --dport 22 -j ACCEPT', '-A net-fw -j DROP']);
  });

  it('intra-zone traffic is accepted unless a policy names the zone twice', () => {
    expect(lines(plan({}).rulesV4, '-A loc-loc')).toEqual(['-A loc-loc -j ACCEPT']);
    const strict = plan({ policy: 'loc loc DROP\nall all REJECT\n' });
    expect(lines(strict.rulesV4, '-A loc-loc')).toEqual(['-A loc-loc -j DROP']);
  });

  it('traffic out of the interface it came in on needs routeback', () => {
    expect(lines(plan({}).rulesV4, '-A fwd@eth1 -o eth1')).toHaveLength(0);
    expect(lines(plan({}).rulesV4, '-A fwd@eth0 -o eth0')).toHaveLength(1);
  });

  it('a zone pair with no policy is an error naming the pair', () => {
    expect(() => plan({ policy: 'loc net ACCEPT\n' })).toThrow(/no policy for traffic from fw to loc/);
  });
});

describe('address groups', () => {
  it('a few addresses give one rule each', () => {
    const p = plan({ rules: 'DROP loc:192.168.1.1,192.168.1.2 net\n' });
    expect(lines(p.rulesV4, '-A loc-net -s')).toHaveLength(2);
    expect(p.ipsets).not.toContain('create');
  });

  it('a larger group becomes one ipset and one rule', () => {
    const hosts = Array.from({ length: 10 }, (_, i) => `192.168.1.${i + 1}`).join(',');
    const p = plan({ rules: `DROP loc:${hosts} net\n` });
    const rule = lines(p.rulesV4, '-A loc-net -m set');
    expect(rule).toHaveLength(1);
    const name = /--match-set (\S+) src/.exec(rule[0] ?? '')?.[1];
    expect(p.ipsets).toContain(`create ${name} hash:net family inet`);
    expect(lines(p.ipsets, `add ${name} `)).toHaveLength(10);
  });
});

describe('plan', () => {
  it('sysctl turns forwarding on when zones forward to each other', () => {
    expect(plan({}).sysctl).toBe('net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\n');
  });

  it('the stopped state admits what stoppedrules accepts and drops the rest', () => {
    const p = plan({ stoppedrules: 'ACCEPT - $FW tcp 22\n' });
    expect(p.stoppedV4).toContain(':INPUT DROP [0:0]');
    expect(p.stoppedV4).toContain(':FORWARD DROP [0:0]');
    expect(lines(p.stoppedV4, '-A INPUT -p tcp --dport 22 -j ACCEPT')).toHaveLength(1);
  });

  it('declares every table so a restore replaces everything', () => {
    const p = plan({});
    for (const table of ['*raw', '*mangle', '*nat', '*filter']) expect(p.rulesV4).toContain(table);
  });
});
