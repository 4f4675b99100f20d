import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../src/errors/index.js';
import { parseShorewall, type ShorewallFiles } from '../../src/shorewall/index.js';

const BASE: ShorewallFiles = {
  zones: 'fw firewall\nloc ipv4\nnet ipv4\n',
  interfaces: '?FORMAT 2\nloc eth0 routeback\nnet eth1 dhcp\n',
  policy: 'loc net ACCEPT\n$FW all ACCEPT\nall all REJECT info\n',
  rules: '?SECTION NEW\n',
};

function parse(changes: ShorewallFiles) {
  return parseShorewall({ ...BASE, ...changes }, { family: 4, dir: '/test' });
}

/** The formatted error of a parse that must fail. */
function failure(changes: ShorewallFiles): string {
  try {
    parse(changes);
  } catch (e) {
    if (e instanceof GatehouseError) return e.format();
    throw e;
  }
  throw new Error('the parse succeeded');
}

describe('bad input is refused with file, line and column', () => {
  it('an unknown zone in a rule', () => {
    expect(failure({ rules: '?SECTION NEW\nACCEPT\tdmz\t$FW\ttcp\t22\n' })).toMatch(/^rules:2 column 8 \(source\): unknown zone 'dmz' \(expected .*loc, net/);
  });

  it('a zone name longer than 5 characters', () => {
    expect(failure({ zones: 'fw firewall\nlocal1 ipv4\n' })).toMatch(/^zones:2 column 1 \(zone\): zone name 'local1' is longer than 5 characters/);
  });

  it('a port out of range', () => {
    expect(failure({ rules: 'ACCEPT net $FW tcp 70000\n' })).toMatch(/^rules:1 column 20 \(dport\): port '70000' is out of range \(expected a port number 0-65535/);
  });

  it('a malformed address', () => {
    expect(failure({ rules: 'ACCEPT net:300.1.2.3 $FW tcp 22\n' })).toMatch(/^rules:1 column 8 \(source\): '300.1.2.3' is not a valid address/);
  });

  it('a DNAT without a target', () => {
    expect(failure({ rules: 'DNAT net loc tcp 80\n' })).toMatch(/^rules:1 column 10 \(dest\): DNAT without a target address \(expected zone:address\[:port\]/);
  });

  it('a DNAT with nothing in DEST', () => {
    expect(failure({ rules: 'DNAT net - tcp 80\n' })).toMatch(/^rules:1 column 10 \(dest\): DNAT without a target/);
  });

  it('a policy for an undefined zone', () => {
    expect(failure({ policy: 'loc net ACCEPT\nnet dmz DROP\n' })).toMatch(/^policy:2 column 5 \(dest\): unknown zone 'dmz'/);
  });

  it('a parameter that is never defined', () => {
    expect(failure({ rules: 'ACCEPT loc $FW tcp $SSH_PORT\n' })).toMatch(/^rules:1 column 20: parameter 'SSH_PORT' is not defined \(define SSH_PORT=/);
  });

  it('an undefined parameter inside the {column:value} form', () => {
    expect(failure({ rules: '{action:ACCEPT, source:loc, dest:$FW, proto:tcp, dport:${PORT}}\n' })).toMatch(/^rules:1 column \d+: parameter 'PORT' is not defined/);
  });

  it('an action Shorewall has but Gatehouse does not yet', () => {
    expect(failure({ rules: 'NFLOG loc net\n' })).toMatch(/^rules:1 column 1 \(action\): action 'NFLOG' is valid Shorewall but not supported here yet/);
  });

  it('a macro Gatehouse does not know', () => {
    expect(failure({ rules: 'Quake(ACCEPT) net $FW\n' })).toMatch(/unknown macro 'Quake' \(Gatehouse knows: .*SSH/);
  });

  it('a file Gatehouse cannot honour yet rather than skipping it', () => {
    expect(failure({ tunnels: 'ipsec net 1.2.3.4\n' })).toMatch(/^tunnels: the tunnels file is valid Shorewall but Gatehouse does not support it yet/);
  });

  it('a conditional directive', () => {
    expect(failure({ rules: '?IF $FOO\nACCEPT loc net\n?ENDIF\n' })).toMatch(/^rules:1: '\?IF' is valid Shorewall but Gatehouse does not support it yet/);
  });

  it('a rule error early in the file yields to a splitting error further down, as a whole-file split would', () => {
    expect(failure({ rules: 'ACCEPT dmz net\nACCEPT loc net tcp $NOPE\n' })).toMatch(/^rules:2 column 20: parameter 'NOPE' is not defined/);
  });

  it('a rule error is reported when the rest of the file splits cleanly', () => {
    expect(failure({ rules: 'ACCEPT dmz net\nACCEPT loc net tcp 22\n' })).toMatch(/^rules:1 column 8 \(source\): unknown zone 'dmz'/);
  });

  it('a file ending inside a continued line wins over an earlier rule error', () => {
    expect(failure({ rules: 'ACCEPT dmz net\nACCEPT loc net \\' })).toMatch(/^rules:2: the file ends inside a continued line/);
  });

  it('sections out of order', () => {
    expect(failure({ rules: '?SECTION NEW\n?SECTION ALL\n' })).toMatch(/^rules:2 column 10: section ALL is out of order/);
  });

  it('a DNAT outside the NEW section', () => {
    expect(failure({ rules: '?SECTION ALL\nDNAT net loc:192.168.1.10 tcp 80\n' })).toMatch(/^rules:2 column 1 \(action\): DNAT is only valid in the NEW section/);
  });

  it('ports on a protocol without ports', () => {
    expect(failure({ rules: 'ACCEPT loc net gre 80\n' })).toMatch(/ports need a protocol with ports, not 'gre'/);
  });

  it("an ICMP type name of the other family, saying what this family calls it", () => {
    expect(failure({ rules: 'ACCEPT net $FW icmp packet-too-big\n' })).toMatch(
      /^rules:1 column 21 \(dport\): 'packet-too-big' is not an icmp type \(expected one icmp type: .*'packet-too-big' is ICMPv6's; IPv4 calls it fragmentation-needed\)/,
    );
    expect(parse({ rules: 'ACCEPT net $FW icmp fragmentation-needed\nACCEPT net $FW ipv6-icmp packet-too-big\nACCEPT net $FW ipv6-icmp 1/4\n' }).rules.map((r) => r.dports)).toEqual([
      ['fragmentation-needed'],
      ['packet-too-big'],
      ['1/4'],
    ]);
  });

  it('an interface option Gatehouse does not know', () => {
    expect(failure({ interfaces: '?FORMAT 2\nloc eth0 upnp\n' })).toMatch(/^interfaces:2 column 10 \(options\): interface option 'upnp' is not supported yet/);
  });

  it('a maclist entry for an interface without the maclist option', () => {
    expect(failure({ maclist: 'ACCEPT eth0 00:11:22:33:44:55\n' })).toMatch(/^maclist:1 column 8 \(interface\): interface 'eth0' does not have the maclist option/);
  });

  it('an invalid shorewall.conf value', () => {
    expect(failure({ 'shorewall.conf': 'A=1\nMACLIST_TABLE=raw\n' })).toMatch(/^shorewall.conf:2: MACLIST_TABLE=raw is not valid \(expected filter or mangle\)/);
  });
});

describe('the files NethServer writes are read', () => {
  it('reads the {column:value} form with commas inside values', () => {
    const cfg = parse({ rules: '?COMMENT RULE#1 web\n{action:ACCEPT:none, source:loc, dest:net, proto:tcp, dport:80,443, time:-}\n' });
    expect(cfg.rules).toHaveLength(1);
    expect(cfg.rules[0]).toMatchObject({ action: 'ACCEPT', proto: 'tcp', dports: ['80', '443'], comment: 'RULE#1 web' });
    expect(cfg.rules[0]?.log).toBeUndefined();
  });

  it('expands macros in both spellings', () => {
    const cfg = parse({ rules: 'SSH(ACCEPT) loc $FW\nPing/DROP:info net $FW\n' });
    expect(cfg.rules.map((r) => [r.action, r.proto, r.dports?.[0], r.log])).toEqual([
      ['ACCEPT', 'tcp', '22', undefined],
      ['DROP', 'icmp', '8', 'info'],
      ['DROP', 'ipv6-icmp', '128', 'info'],
    ]);
  });

  it('substitutes $NAME and ${NAME} from params', () => {
    const cfg = parse({ params: 'HOST=192.168.1.5\nPORTS="80,8080"\n', rules: 'ACCEPT net loc:$HOST tcp ${PORTS}\n' });
    expect(cfg.rules[0]?.dest.addresses?.items[0]).toEqual({ kind: 'net', family: 4, address: '192.168.1.5' });
    expect(cfg.rules[0]?.dports).toEqual(['80', '8080']);
  });

  it('splits tcp,udp into one rule per protocol', () => {
    const cfg = parse({ rules: 'ACCEPT loc net tcp,udp 5000:5100\n' });
    expect(cfg.rules.map((r) => r.proto)).toEqual(['tcp', 'udp']);
  });

  it('reads MAC, ipset and &interface addresses', () => {
    const cfg = parse({ rules: 'DROP loc:~00-11-22-33-44-55 net\nDROP net:+blocked $FW\nDNAT net loc:192.168.1.10:22 tcp 2222 - &eth1\n' });
    expect(cfg.rules[0]?.source.addresses?.items[0]).toEqual({ kind: 'mac', mac: '00:11:22:33:44:55' });
    expect(cfg.rules[1]?.source.addresses?.items[0]).toEqual({ kind: 'ipset', name: 'blocked' });
    expect(cfg.rules[2]?.origdest?.items[0]).toEqual({ kind: 'interfaceAddress', interface: 'eth1' });
    expect(cfg.rules[2]?.natTarget).toEqual({ address: { kind: 'net', family: 4, address: '192.168.1.10' }, port: '22' });
  });

  it('reads the time column as Shorewall writes it', () => {
    const cfg = parse({ rules: 'DROP loc net - - - - - - - - utc&weekdays=Mon,Tue&timestart=07:00&timestop=17:00\n' });
    expect(cfg.rules[0]?.time).toEqual({ utc: true, weekdays: 'Mon,Tue', timestart: '07:00', timestop: '17:00' });
  });

  it('quiet by default: inert settings are one detail line, only meaning-changing ones are notes', () => {
    const cfg = parse({ 'shorewall.conf': 'STARTUP_ENABLED=Yes\nIP_FORWARDING=On\nVERBOSITY=1\nMULTICAST=Yes\nMULTICAST_TYPO=1\nEXPAND_POLICIES=Yes\n' });
    expect(cfg.settings.ipForwarding).toBe('On');
    expect(cfg.notes).toEqual([
      'shorewall.conf:4: MULTICAST=Yes is not acted upon: multicast is not treated specially',
      'shorewall.conf: unknown settings, ignored: MULTICAST_TYPO',
    ]);
    expect(cfg.details).toEqual(['shorewall.conf: 3 settings without effect on the rulesets: STARTUP_ENABLED, VERBOSITY, EXPAND_POLICIES']);
  });

  it('reads IPv6 addresses in brackets in a shorewall6 directory', () => {
    const cfg = parseShorewall(
      { ...BASE, zones: 'fw firewall\nloc ipv6\nnet ipv6\n', rules: 'ACCEPT net loc:<2001:db8::10> tcp 80\n' },
      { family: 6, dir: '/test6' },
    );
    expect(cfg.rules[0]?.dest.addresses?.items[0]).toEqual({ kind: 'net', family: 6, address: '2001:db8::10' });
  });
});

describe('addresses, ports and columns read the same on the fast paths', () => {
  const sourceOf = (source: string) => parse({ rules: `ACCEPT net:${source} $FW tcp 22\n` }).rules[0]?.source.addresses?.items;

  it('an IPv4 address with a leading zero in an octet is refused', () => {
    expect(failure({ rules: 'ACCEPT net:10.01.2.3 $FW tcp 22\n' })).toMatch(/^rules:1 column 8 \(source\): '10.01.2.3' is not a valid address/);
  });

  it('an IPv4 address with three or five octets is refused', () => {
    expect(failure({ rules: 'ACCEPT net:10.1.2 $FW tcp 22\n' })).toMatch(/'10.1.2' is not a valid address/);
    expect(failure({ rules: 'ACCEPT net:10.1.2.3.4 $FW tcp 22\n' })).toMatch(/'10.1.2.3.4' is not a valid address/);
  });

  it('an IPv4 address, network and range keep their text; IPv6 is canonicalised', () => {
    expect(sourceOf('0.0.0.0,255.255.255.255,10.0.0.0/8,10.1.1.1-10.1.1.9')).toEqual([
      { kind: 'net', family: 4, address: '0.0.0.0' },
      { kind: 'net', family: 4, address: '255.255.255.255' },
      { kind: 'net', family: 4, address: '10.0.0.0/8' },
      { kind: 'range', family: 4, from: '10.1.1.1', to: '10.1.1.9' },
    ]);
    expect(sourceOf('[2001:DB8:0:0::1]')).toEqual([{ kind: 'net', family: 6, address: '2001:db8::1' }]);
  });

  it('an IPv6 range with each end in brackets, as shorewall6 writes it (and as the model writes an iprange object)', () => {
    expect(sourceOf('[fd00:1::60]-[fd00:1::70]')).toEqual([{ kind: 'range', family: 6, from: 'fd00:1::60', to: 'fd00:1::70' }]);
    expect(sourceOf('<fd00:1::60>-<fd00:1::70>,[fd00:1::1]')).toEqual([
      { kind: 'range', family: 6, from: 'fd00:1::60', to: 'fd00:1::70' },
      { kind: 'net', family: 6, address: 'fd00:1::1' },
    ]);
  });

  it('a port written with a leading zero is printed without it', () => {
    expect(parse({ rules: 'ACCEPT net $FW tcp 022,80,0\n' }).rules[0]?.dports).toEqual(['22', '80', '0']);
  });

  it('a protocol in capitals or by number reads as its name', () => {
    const rules = parse({ rules: 'ACCEPT net $FW TCP 22\nACCEPT net $FW 17 53\n' }).rules;
    expect(rules.map((r) => r.proto)).toEqual(['tcp', 'udp']);
  });

  it('columns are split on any white space, including a non-breaking space', () => {
    const rules = parse({ rules: 'ACCEPT \t net\u00a0$FW  tcp\u3000 22   \n' }).rules;
    expect(rules[0]).toMatchObject({ action: 'ACCEPT', proto: 'tcp', dports: ['22'], place: { line: 1 } });
    expect(rules[0]?.dest.zones).toEqual({ kind: 'zones', names: ['fw'], includeIntra: false });
  });

  it('a column points at its own character position after tabs and spaces', () => {
    expect(failure({ rules: 'ACCEPT\t net   $FW tcp 99999\n' })).toMatch(/^rules:1 column 23 \(dport\): port '99999' is out of range/);
  });
});

describe('an exclusion inside an address list (man shorewall-exclusion)', () => {
  const addressesOf = (source: string) => parse({ rules: `ACCEPT net:${source} $FW tcp 22\n` }).rules[0]?.source.addresses;

  it('a!b: the network except one host', () => {
    expect(addressesOf('192.168.1.0/24!192.168.1.50')).toEqual({
      items: [{ kind: 'net', family: 4, address: '192.168.1.0/24' }],
      negate: false,
      except: [{ kind: 'net', family: 4, address: '192.168.1.50' }],
    });
  });

  it('a list before and after the !, with ranges, sets and bracketed IPv6', () => {
    expect(addressesOf('192.168.1.0/24,10.0.0.0/8!192.168.1.3,10.1.1.1-10.1.1.9,+blocked')).toEqual({
      items: [
        { kind: 'net', family: 4, address: '192.168.1.0/24' },
        { kind: 'net', family: 4, address: '10.0.0.0/8' },
      ],
      negate: false,
      except: [
        { kind: 'net', family: 4, address: '192.168.1.3' },
        { kind: 'range', family: 4, from: '10.1.1.1', to: '10.1.1.9' },
        { kind: 'ipset', name: 'blocked' },
      ],
    });
    expect(addressesOf('[2001:db8::/64]![2001:db8::5]')?.except).toEqual([{ kind: 'net', family: 6, address: '2001:db8::5' }]);
    expect(addressesOf('[2001:4d48:ad51:24::]/64![2001:4d48:ad51:24:6::]/80')).toEqual({
      items: [{ kind: 'net', family: 6, address: '2001:4d48:ad51:24::/64' }],
      negate: false,
      except: [{ kind: 'net', family: 6, address: '2001:4d48:ad51:24:6::/80' }],
    });
  });

  it('in hosts, snat and stoppedrules too', () => {
    const config = parse({
      zones: 'fw firewall\nloc ipv4\nnet ipv4\nadm ipv4\n',
      hosts: 'adm eth0:192.168.1.0/28!192.168.1.5\n',
      snat: 'MASQUERADE 192.168.1.0/24!192.168.1.50 eth1\n',
      stoppedrules: 'ACCEPT eth0:192.168.1.0/24!192.168.1.9 $FW tcp 22\n',
    });
    expect(config.hosts[0]?.addresses.except).toEqual([{ kind: 'net', family: 4, address: '192.168.1.5' }]);
    expect(config.snat[0]?.source?.except).toEqual([{ kind: 'net', family: 4, address: '192.168.1.50' }]);
    expect(config.stoppedRules[0]?.source.addresses?.except).toEqual([{ kind: 'net', family: 4, address: '192.168.1.9' }]);
  });

  it('is refused where it has no meaning, naming what to write', () => {
    expect(failure({ rules: 'ACCEPT net:!10.0.0.0/8!10.1.1.1 $FW tcp 22\n' })).toMatch(/^rules:1 column 8 \(source\): '!10.0.0.0\/8!10.1.1.1' excludes twice/);
    expect(failure({ rules: 'ACCEPT net:10.0.0.0/8! $FW tcp 22\n' })).toMatch(/cannot read the exclusion '10.0.0.0\/8!' \(expected addresses!excluded/);
    expect(failure({ rules: 'ACCEPT net:10.0.0.0/8!~00-11-22-33-44-55 $FW tcp 22\n' })).toMatch(/'~00-11-22-33-44-55' is not allowed here/);
    expect(failure({ rules: 'DNAT net loc:192.168.1.0/24!192.168.1.1 tcp 80\n' })).toMatch(/^rules:1 column 10 \(dest\): an exclusion inside a list .* is not supported in this column/);
  });
});

describe('NFQUEUE and the MARK column', () => {
  const ruleOf = (line: string, conf = 'FASTACCEPT=No\n') => parse({ rules: `?SECTION ESTABLISHED\n${line}\n`, 'shorewall.conf': conf }).rules[0];

  it('NFQUEUE takes a queue, a balanced range and bypass, as Shorewall', () => {
    expect(ruleOf('NFQUEUE net all')?.queue).toEqual({ from: 0, bypass: false });
    expect(ruleOf('NFQUEUE(bypass) net all')?.queue).toEqual({ from: 0, bypass: true });
    expect(ruleOf('NFQUEUE(3,bypass) net all')?.queue).toEqual({ from: 3, bypass: true });
    expect(ruleOf('NFQUEUE(2:5) net all')?.queue).toEqual({ from: 2, to: 5, bypass: false });
    expect(ruleOf('NFQUEUE(0,bypass):info net all')).toMatchObject({ action: 'NFQUEUE', log: 'info', section: 'ESTABLISHED' });
    expect(failure({ rules: 'NFQUEUE(5:2) net all\n' })).toMatch(/^rules:1 column 1 \(action\): cannot read NFQUEUE\(5:2\) \(expected NFQUEUE, NFQUEUE\(n\)/);
  });

  it('MARK tests the packet or (with :C) the connection mark, negated with !', () => {
    expect(ruleOf('NFQUEUE(bypass) net all - - - - - - !0x80/0x80:C')?.mark).toEqual({ value: 0x80, mask: 0x80, connmark: true, negate: true });
    expect(ruleOf('ACCEPT net all - - - - - - 2')?.mark).toEqual({ value: 2, mask: 0xffffffff, connmark: false, negate: false });
    expect(failure({ rules: 'ACCEPT net all - - - - - - 0x80/' + '\n' })).toMatch(/column \d+ \(mark\): '0x80\/' is not a mark test/);
  });

  it('rules in ESTABLISHED or RELATED are refused with FASTACCEPT=Yes, as Shorewall refuses them', () => {
    expect(failure({ rules: '?SECTION ESTABLISHED\nNFQUEUE net all\n', 'shorewall.conf': 'FASTACCEPT=Yes\n' })).toMatch(
      /^rules:2: rules in the ESTABLISHED section are not allowed with FASTACCEPT=Yes \(set FASTACCEPT=No in shorewall.conf/,
    );
  });
});
