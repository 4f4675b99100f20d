import { describe, expect, it } from 'vitest';
import { type DbRecord, listShippedDatabases, loadValidation, readDefaults } from '../../src/db/index.js';

const { validateRecord, validateDatabase, problemsError } = await loadValidation();

function problemLine(db: string, key: string, rec: DbRecord): string | undefined {
  const problems = validateRecord(db, key, rec);
  return problems.length === 0 ? undefined : problemsError(problems).format();
}

const rule = (props: Record<string, string>): DbRecord => ({
  type: 'rule',
  props: { Src: 'role;green', Dst: 'role;red', Action: 'accept', ...props },
});

describe('bad values are refused with db, key, prop and what is valid', () => {
  it('a malformed IPv4 host address is refused', () => {
    expect(problemLine('hosts', 'web', { type: 'host', props: { IpAddress: '192.168.1.300' } })).toMatch(
      /^hosts\/web\/IpAddress: '192\.168\.1\.300' is not valid \(valid: an IPv4 or IPv6 address/,
    );
  });

  it('a malformed IPv6 address is refused', () => {
    expect(problemLine('hosts', 'web6', { type: 'host', props: { IpAddress: '2001:db8::1::2' } })).toMatch(/^hosts\/web6\/IpAddress: /);
  });

  it('a CIDR with a prefix longer than 32 is refused', () => {
    expect(problemLine('hosts', 'lan', { type: 'cidr', props: { Address: '10.0.0.0/33' } })).toMatch(
      /^hosts\/lan\/Address: '10\.0\.0\.0\/33' is not valid \(valid: a network with prefix/,
    );
  });

  it('an interface ip6addr without a prefix is refused', () => {
    expect(problemLine('networks', 'eth0', { type: 'ethernet', props: { role: 'green', ip6addr: '2001:db8:1::1' } })).toMatch(
      /^networks\/eth0\/ip6addr: .*IPv6 address with its prefix/,
    );
  });

  it('port 70000 is refused', () => {
    expect(problemLine('configuration', 'myapp', { type: 'service', props: { TCPPort: '70000' } })).toMatch(
      /^configuration\/myapp\/TCPPort: '70000' is not valid \(valid: .*1\.\.65535/,
    );
  });

  it('a port range written backwards is refused and the fix is suggested', () => {
    expect(problemLine('fwservices', 'app', { type: 'fwservice', props: { Protocol: 'tcp', Ports: '2000-1000' } })).toMatch(
      /^fwservices\/app\/Ports: .*backwards \(write 1000-2000\)/,
    );
  });

  it('an IP range written backwards is refused', () => {
    expect(problemLine('hosts', 'r', { type: 'iprange', props: { Start: '10.0.0.20', End: '10.0.0.10' } })).toMatch(
      /^hosts\/r\/End: the range 10\.0\.0\.20-10\.0\.0\.10 is written backwards/,
    );
  });

  it('Action=ALLOW is refused, naming the valid actions', () => {
    expect(problemLine('fwrules', '7', rule({ Action: 'ALLOW' }))).toBe(
      "fwrules/7/Action: 'ALLOW' is not valid (valid: accept, drop or reject (any case), class;<tc class> or provider;<provider>)",
    );
  });

  it('a zone name of 6 characters is refused', () => {
    expect(problemLine('networks', 'guests', { type: 'zone', props: { Interface: 'eth3', Network: '192.168.9.0/24' } })).toMatch(
      /^networks\/guests: 'guests' is not a valid key for a zone record \(a zone name of at most 5 characters/,
    );
  });

  it('a reserved zone name is refused', () => {
    expect(problemLine('networks', 'any', { type: 'zone', props: {} })).toMatch(/reserved/);
  });

  it('TimeStart=25:00 is refused', () => {
    expect(problemLine('fwtimes', 'office', { type: 'time', props: { TimeStart: '25:00', TimeStop: '18:00' } })).toBe(
      "fwtimes/office/TimeStart: '25:00' is not valid (valid: a time HH:MM from 00:00 to 23:59)",
    );
  });

  it('an unknown weekday is refused', () => {
    expect(problemLine('fwtimes', 'office', { type: 'time', props: { WeekDays: 'Mon,Fry' } })).toMatch(/WeekDays: .*Mon, Tue/);
  });

  it('a tc mark of 64 is refused, 63 is accepted', () => {
    expect(problemLine('tc', 'bulk', { type: 'class', props: { Mark: '64' } })).toMatch(/^tc\/bulk\/Mark: .*1 to 63/);
    expect(problemLine('tc', 'bulk', { type: 'class', props: { Mark: '63' } })).toBeUndefined();
  });

  it('a newline in a value of an unknown database is refused', () => {
    expect(problemLine('mydb', 'k', { type: 'thing', props: { Note: 'a\nb' } })).toBe(
      "mydb/k/Note: the value 'a\\nb' holds a control character or line break (values are one line of printable text)",
    );
  });

  it('a control character in a key is refused', () => {
    expect(problemLine('hosts', 'we\u0007b', { type: 'host', props: {} })).toMatch(/control character/);
  });

  it('an escape character in a type is refused', () => {
    expect(problemLine('hosts', 'web', { type: 'host\u001b[31m', props: {} })).toMatch(/control character/);
  });

  it('a Unicode line separator in a value is refused', () => {
    expect(problemLine('fwrules', '1', rule({ Description: 'a\u2028b' }))).toMatch(/line break/);
  });

  it('an = in a prop name is refused', () => {
    expect(problemLine('hosts', 'web', { type: 'host', props: { 'a=b': 'x' } })).toMatch(/'=' or '\|'/);
  });

  it('a rule without Action is refused', () => {
    expect(problemLine('fwrules', '3', { type: 'rule', props: { Src: 'any', Dst: 'any' } })).toMatch(/^fwrules\/3\/Action: a rule record needs Action/);
  });

  it('a class rule from role;red is refused (firewall-base validator)', () => {
    expect(problemLine('fwrules', '4', rule({ Src: 'role;red', Action: 'class;high' }))).toMatch(/^fwrules\/4\/Src: a class rule cannot match/);
  });

  it('an nDPI drop or reject rule is refused: Gatehouse has no nDPI and skipping it would open a hole', () => {
    for (const Action of ['reject', 'DROP']) {
      expect(problemLine('fwrules', '5', rule({ Service: 'ndpi;bittorrent', Action }))).toBe(
        `fwrules/5/Service: an nDPI ${Action.toLowerCase()} rule cannot be enforced (Gatehouse has no nDPI), and skipping it would let the traffic through (match the traffic by ports with a fwservice instead)`,
      );
    }
  });
});

describe('good values are accepted', () => {
  it('a rule with references of every form is accepted', () => {
    for (const [Src, Dst] of [
      ['host;pc1', 'host-group;servers'],
      ['zone;dmz', 'cidr;lan'],
      ['iprange;r1', 'fw'],
      ['mac;printer', 'any'],
      ['192.168.1.0/24', '2001:db8::/32'],
    ]) {
      expect(problemLine('fwrules', '1', rule({ Src: Src!, Dst: Dst!, Service: 'fwservice;ssh', Time: 'time;office', Log: 'info', status: 'enabled', Position: '10' }))).toBeUndefined();
    }
  });

  it('mac;k is refused as a destination', () => {
    expect(problemLine('fwrules', '1', rule({ Dst: 'mac;printer' }))).toMatch(/^fwrules\/1\/Dst: /);
  });

  it('a time window that wraps midnight is accepted', () => {
    expect(problemLine('fwtimes', 'night', { type: 'time', props: { WeekDays: 'Fri,Sat', TimeStart: '22:00', TimeStop: '06:00' } })).toBeUndefined();
  });

  it('unknown props on a known type are accepted', () => {
    expect(problemLine('hosts', 'web', { type: 'host', props: { IpAddress: '10.0.0.1', Owner: 'ops|team=a' } })).toBeUndefined();
  });

  it('unknown databases and types are accepted', () => {
    expect(problemLine('squid', 'bypass1', { type: 'bypass-src', props: { Host: 'whatever' } })).toBeUndefined();
  });

  it('an empty value counts as unset', () => {
    expect(problemLine('networks', 'eth1', { type: 'ethernet', props: { role: 'red', ipaddr: '', FwInBandwidth: '' } })).toBeUndefined();
  });

  it('an IPv6 interface address with prefix is accepted', () => {
    expect(problemLine('networks', 'eth0', { type: 'ethernet', props: { role: 'green', ip6addr: '2001:db8:1::1/64' } })).toBeUndefined();
  });

  it('every shipped default database validates', async () => {
    const names = await listShippedDatabases();
    expect(names).toEqual(expect.arrayContaining(['configuration', 'fwservices', 'tc']));
    for (const name of names) expect(validateDatabase(name, await readDefaults(name))).toEqual([]);
  });
});
