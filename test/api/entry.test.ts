/** rfw paths, /v1 bodies and whitelist overlap: what is accepted, in which canonical form, and the one-line reason for the rest. */
import { describe, expect, it } from 'vitest';
import { EntryError, entryKey, networksOverlap, parseEntryBody, parseExpire, parseRfwTarget } from '../../src/api/entry.js';

function reason(f: () => unknown): { status: number; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof EntryError) return { status: e.status, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('rfw paths', () => {
  it('an address on an interface, as rfw writes it', () => {
    const e = parseRfwTarget('drop', 'input', 'eth0/11.22.33.44');
    expect(e).toEqual({ action: 'drop', chain: 'input', interface: 'eth0', family: 4, address: '11.22.33.44/32' });
    expect(entryKey(e)).toBe('drop/input/eth0/11.22.33.44/32');
  });

  it('a network split over two path segments, any interface, trailing slash', () => {
    expect(parseRfwTarget('accept', 'output', 'any/192.168.0.0/24/')).toMatchObject({ interface: 'any', address: '192.168.0.0/24' });
  });

  it('ppp means every ppp interface (a prefix)', () => {
    expect(parseRfwTarget('drop', 'forward', 'ppp/1.2.3.0/24').interface).toBe('ppp+');
  });

  it('IPv6 addresses and networks, in compressed canonical form', () => {
    expect(parseRfwTarget('drop', 'input', 'any/2001:0db8:0000::0001')).toMatchObject({ family: 6, address: '2001:db8::1/128' });
    expect(parseRfwTarget('drop', 'input', 'any/2001:db8::/48').address).toBe('2001:db8::/48');
  });

  it('bad addresses, prefixes and interfaces are refused with a reason', () => {
    expect(reason(() => parseRfwTarget('drop', 'input', 'any/1.2.3'))).toEqual({ status: 400, message: expect.stringContaining("'1.2.3' is not an IP address") });
    expect(reason(() => parseRfwTarget('drop', 'input', 'any/1.2.3.4/33')).message).toContain('not a prefix for IPv4');
    expect(reason(() => parseRfwTarget('drop', 'input', 'any/0.0.0.0/0')).message).toContain('not a prefix');
    expect(reason(() => parseRfwTarget('drop', 'input', 'any/1.2.3.4/24')).message).toContain('did you mean 1.2.3.0/24');
    expect(reason(() => parseRfwTarget('drop', 'input', 'averyveryverylongname/1.2.3.4')).message).toContain('is not an interface');
    expect(reason(() => parseRfwTarget('drop', 'input', 'eth0')).message).toContain('expected /drop/input/');
    expect(reason(() => parseRfwTarget('drop', 'input', 'any/fe80::1%25eth0')).message).toContain('is not an IP address');
    expect(reason(() => parseRfwTarget('drop', 'input', 'any/1.2.3.4/extra')).message).toContain('unexpected');
  });

  it("rfw's forward form: a pair of interfaces and networks, one canonical key for every spelling", () => {
    const pair = parseRfwTarget('accept', 'forward', 'ppp/1.2.3.0/24/eth0/5.5.5.5');
    expect(pair).toEqual({ action: 'accept', chain: 'forward', interface: 'ppp+', family: 4, address: '1.2.3.0/24', to: { interface: 'eth0', address: '5.5.5.5/32' } });
    expect(entryKey(pair)).toBe('accept/forward/ppp+/1.2.3.0/24/eth0/5.5.5.5/32');
    expect(entryKey(parseRfwTarget('accept', 'forward', 'ppp+/1.2.3.0/24/eth0/5.5.5.5/32'))).toBe(entryKey(pair));
    expect(parseRfwTarget('drop', 'forward', 'any/2001:db8::/48/any/2001:db8:1::1').to).toEqual({ interface: 'any', address: '2001:db8:1::1/128' });
  });

  it('the pair form is refused on input and output, half-given, with mixed IP versions, or with more after it', () => {
    expect(reason(() => parseRfwTarget('drop', 'input', 'eth0/1.2.3.4/eth1/5.5.5.5')).message).toContain('only forward takes a second interface');
    expect(reason(() => parseRfwTarget('drop', 'forward', 'eth0/1.2.3.4/eth1')).message).toContain('expected /<interface2>/<address2>');
    expect(reason(() => parseRfwTarget('drop', 'forward', 'eth0/1.2.3.4/eth1/2001:db8::1')).message).toContain('not of the same IP version');
    expect(reason(() => parseRfwTarget('drop', 'forward', 'eth0/1.2.3.4/eth1/5.5.5.5/32/x')).message).toContain('after the second address');
    expect(reason(() => parseRfwTarget('drop', 'forward', 'eth0/1.2.3.4/eth1/5.5.5.1/30')).message).toContain('host bits');
  });

  it('expire is whole seconds within what ipset accepts', () => {
    expect(parseExpire('600')).toBe(600);
    expect(parseExpire(undefined)).toBeUndefined();
    for (const bad of ['0', '-5', '1.5', 'soon', '99999999999']) expect(reason(() => parseExpire(bad)).status).toBe(400);
  });
});

describe('/v1 bodies', () => {
  it('rfw defaults: drop, input, any interface', () => {
    expect(parseEntryBody({ address: '203.0.113.7', expire: 30 })).toEqual({
      entry: { action: 'drop', chain: 'input', interface: 'any', family: 4, address: '203.0.113.7/32' },
      expire: 30,
    });
  });

  it('unknown fields, wrong types and non-objects are refused', () => {
    expect(reason(() => parseEntryBody({ address: '203.0.113.7', port: 22 })).message).toContain("unknown field 'port'");
    expect(reason(() => parseEntryBody({ address: 7 })).message).toContain("'address' must be a string");
    expect(reason(() => parseEntryBody({ address: '203.0.113.7', expire: '30' })).message).toContain('whole number');
    expect(reason(() => parseEntryBody([1])).message).toContain('JSON object');
    expect(reason(() => parseEntryBody({ address: '203.0.113.7', action: 'reject' })).message).toContain('not an action');
  });
});

describe('whitelist overlap', () => {
  it('a network overlaps what it contains and what contains it, never the other family', () => {
    expect(networksOverlap('192.168.1.0/24', '192.168.1.10/32')).toBe(true);
    expect(networksOverlap('192.168.1.10/32', '192.168.0.0/16')).toBe(true);
    expect(networksOverlap('192.168.1.0/24', '192.168.2.0/24')).toBe(false);
    expect(networksOverlap('::1/128', '127.0.0.1/32')).toBe(false);
  });
});
