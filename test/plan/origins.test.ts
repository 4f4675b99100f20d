/** origins.json: the compact form reads back as written, and plans written in the older form still read. */
import { describe, expect, it } from 'vitest';
import { type PlanOrigins, parseOrigins, serializeOrigins } from '../../src/plan/index.js';

const origins: PlanOrigins = {
  v4: [
    { table: 'filter', rule: '-A loc-net -s 10.0.0.1 -j ACCEPT', file: '/r/etc/shorewall/rules', line: 12, record: 'fwrules/17' },
    { table: 'nat', rule: '-A POSTROUTING -o eth1 -j MASQUERADE', file: '/r/etc/shorewall/snat', line: 3 },
    { table: 'filter', rule: '-A net-fw -p tcp --dport 22 -j ACCEPT', file: '/r/etc/shorewall/rules', line: 40, record: 'configuration/sshd' },
  ],
  v6: [{ table: 'filter', rule: '-A loc-net -j ACCEPT', file: '/r/etc/shorewall6/policy', line: 1 }],
};

describe('origins.json', () => {
  it('reads back as written, record or not', () => {
    expect(parseOrigins(serializeOrigins(origins))).toEqual(origins);
    expect(parseOrigins(serializeOrigins({ v4: [], v6: [] }))).toEqual({ v4: [], v6: [] });
  });

  it('names each file once', () => {
    const text = serializeOrigins(origins);
    expect(text.split('/r/etc/shorewall/rules"').length - 1).toBe(1);
  });

  it('still reads the older form (one object per rule)', () => {
    expect(parseOrigins(JSON.stringify(origins) + '\n')).toEqual(origins);
  });

  it('an unreadable file gives no origins rather than an error', () => {
    expect(parseOrigins('{not json')).toBeUndefined();
  });
});
