import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../src/errors/index.js';
import { parseShorewall, type ShorewallFiles } from '../../src/shorewall/index.js';

const BASE: ShorewallFiles = {
  zones: 'fw firewall\nloc ipv4\nnet ipv4\n',
  interfaces: '?FORMAT 2\nloc eth0 routeback\nnet eth1 dhcp\n',
  policy: 'loc net ACCEPT\n$FW all ACCEPT\nall all REJECT info\n',
  'shorewall.conf': 'PROVIDER_BITS=4\nPROVIDER_OFFSET=16\nMASK_BITS=16\n',
};

function mangle(text: string, conf?: string) {
  const files = { ...BASE, mangle: text, ...(conf === undefined ? {} : { 'shorewall.conf': conf }) };
  return parseShorewall(files, { family: 4, dir: '/test' }).mangle;
}

function failure(text: string, conf?: string): string {
  try {
    mangle(text, conf);
  } catch (e) {
    if (e instanceof GatehouseError) return e.format();
    throw e;
  }
  throw new Error('the parse succeeded');
}

describe('mangle entries run in the chain Shorewall picks', () => {
  it('no designator: PREROUTING, or FORWARD with MARK_IN_FORWARD_CHAIN=Yes', () => {
    expect(mangle('MARK(1) 192.168.1.0/24\n')[0]?.chain).toBe('PREROUTING');
    expect(mangle('MARK(1) 192.168.1.0/24\n', 'MARK_IN_FORWARD_CHAIN=Yes\n')[0]?.chain).toBe('FORWARD');
  });

  it('each designator names its chain', () => {
    const chains = mangle('MARK(1):P\nMARK(1):I\nMARK(1):F\nMARK(1):O\nMARK(1):T\n').map((e) => e.chain);
    expect(chains).toEqual(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
  });

  it('SOURCE $FW is OUTPUT and DEST $FW is INPUT', () => {
    const [out, input] = mangle('MARK(0x3/0x3f) $FW - tcp 22\nRESTORE - $FW\n');
    expect(out?.chain).toBe('OUTPUT');
    expect(out?.source.firewall).toBe(true);
    expect(input?.chain).toBe('INPUT');
  });

  it('a protocol list gives one entry per protocol, in order', () => {
    expect(mangle('MARK(40/0x3f):T - - tcp,udp 5000\n').map((e) => e.proto)).toEqual(['tcp', 'udp']);
  });

  it('SAVE and RESTORE default to make_mask(MASK_BITS), TEST too', () => {
    const [save, restore] = mangle('SAVE:T - - - - - - 0x2\nRESTORE:F\n');
    expect(save?.command).toEqual({ kind: 'SAVE', mask: 0xffff });
    expect(save?.test).toEqual({ value: 2, mask: 0xffff, connmark: false, negate: false });
    expect(restore?.command).toEqual({ kind: 'RESTORE', mask: 0xffff });
    expect(mangle('SAVE:T\n', '')[0]?.command).toEqual({ kind: 'SAVE', mask: 0xff });
  });

  it('marks may be decimal or hex; |, & and masks are kept', () => {
    const e = mangle('MARK(63/0x3f):T\nMARK(|0x80):P\nCONNMARK(&0xff):F\n');
    expect(e.map((x) => x.command)).toEqual([
      { kind: 'MARK', operation: 'set', value: 63, mask: 0x3f },
      { kind: 'MARK', operation: 'or', value: 0x80 },
      { kind: 'CONNMARK', operation: 'and', value: 0xff },
    ]);
  });

  it('an IPv6 address that starts with letters is an address, not an interface name', () => {
    const [e] = parseShorewall({ ...BASE, zones: 'fw firewall\nloc ipv6\nnet ipv6\n', mangle: 'MARK(1):T fd00:1::/64\n' }, { family: 6, dir: '/t' }).mangle;
    expect(e?.source.addresses?.items).toEqual([{ kind: 'net', family: 6, address: 'fd00:1::/64' }]);
  });

  it('a negated source interface and interface:address ends', () => {
    const [e] = mangle('CONNMARK(0x5/0x3f):F !eth1 eth1:203.0.113.0/24 udp 53\n');
    expect(e?.source).toEqual({ firewall: false, interface: 'eth1', negateInterface: true });
    expect(e?.dest.interface).toBe('eth1');
    expect(e?.dest.addresses?.items).toEqual([{ kind: 'net', family: 4, address: '203.0.113.0/24' }]);
  });
});

describe('mangle input Shorewall refuses (or Gatehouse cannot honour) is refused with its place', () => {
  it('a mark with bits outside its mask', () => {
    expect(failure('MARK(0x40/0x3f):T\n')).toMatch(/^mangle:1 column 1 \(action\): mark 0x40 has bits outside its mask 0x3f/);
  });

  it('a SAVE mask above PROVIDER_OFFSET without TC_EXPERT, accepted with it', () => {
    expect(failure('SAVE(0xfff3f):T\n')).toMatch(/the mask 0xfff3f reaches above .* \(at most 0xffff\).*TC_EXPERT=Yes/);
    expect(mangle('SAVE(0xfff3f):T\n', 'PROVIDER_OFFSET=16\nMASK_BITS=16\nTC_EXPERT=Yes\n')[0]?.command).toEqual({ kind: 'SAVE', mask: 0xfff3f });
  });

  it('a mark or mask outside the layout (above MASK_BITS and not wholly provider bits), as Shorewall refuses it', () => {
    const conf = 'PROVIDER_BITS=4\nPROVIDER_OFFSET=16\nMASK_BITS=8\n';
    expect(failure('RESTORE(0xff3f) $FW - - - - - 0x0/0xff3f\n', conf)).toMatch(/\(test\): '0xff3f' is not a mark or mask of this layout/);
    expect(failure('MARK(0x100000):P\n')).toMatch(/'0x100000' is not a mark or mask of this layout/);
    expect(mangle('MARK(0x20000/0xf0000):P\n', conf)[0]?.command).toEqual({ kind: 'MARK', operation: 'set', value: 0x20000, mask: 0xf0000 });
  });

  it('a designator other than OUTPUT with SOURCE $FW', () => {
    expect(failure('MARK(1):T $FW\n')).toMatch(/entries with SOURCE \$FW run in the OUTPUT chain/);
  });

  it('DROP in the INPUT chain', () => {
    expect(failure('DROP:I\n')).toMatch(/DROP entries are not allowed in the INPUT chain/);
  });

  it('a source interface after routing (:T) and a dest interface before it (:P)', () => {
    expect(failure('MARK(1):T eth0\n')).toMatch(/^mangle:1 column \d+ \(source\): a SOURCE interface \(eth0\) cannot be matched after routing/);
    expect(failure('MARK(1):P - eth1\n')).toMatch(/\(dest\): a DEST interface \(eth1\) is not known before routing/);
  });

  it('an unknown interface or command, a valid but unsupported command, column or designator', () => {
    expect(failure('MARK(1):F eth9\n')).toMatch(/'eth9' is neither \$FW nor an interface/);
    expect(failure('FROB(1)\n')).toMatch(/unknown mangle command 'FROB'/);
    expect(failure('CLASSIFY(1:11):T\n')).toMatch(/CLASSIFY is valid Shorewall but Gatehouse does not support it yet/);
    expect(failure('MARK(1):P - - - - - joe\n')).toMatch(/\(user\): the USER column is valid Shorewall but Gatehouse does not support it/);
    expect(failure('MARK(1):NP\n')).toMatch(/nat-table designator :NP/);
    expect(failure('MARK(1-3):P\n')).toMatch(/mark range/);
    expect(failure('2:P eth0\n')).toMatch(/old tcrules form/);
  });

  it('a MAC source where the kernel cannot see it', () => {
    expect(failure('MARK(1):T ~00-11-22-33-44-55\n')).toMatch(/a MAC address cannot be matched in the POSTROUTING chain/);
  });

  it('an unknown state', () => {
    expect(failure('MARK(1):F - - - - - - - - - - - - - BOGUS\n')).toMatch(/\(state\): unknown state 'BOGUS'/);
  });
});
