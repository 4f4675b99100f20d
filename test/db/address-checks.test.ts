/**
 * The address checks agree with ipaddr.js, which they stand in for on the hot path:
 * every string of a seeded random set and a list of edge cases gets the same answer.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { isIPv4 } from '../../src/db/schema/checks.js';
import { random } from '../differential/generator.js';

const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof import('ipaddr.js');

describe('isIPv4', () => {
  it('agrees with ipaddr.js isValidFourPartDecimal on edge cases', () => {
    const cases = [
      '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.256.1.1', '1.1.1.256', '01.1.1.1', '1.1.1.01', '1.1.1', '1.1.1.1.1', '1..1.1',
      '', ' 1.1.1.1', '1.1.1.1 ', '1.1.1.1\n', '0x1.1.1.1', '1e1.1.1.1', '999.1.1.1', '1000.1.1.1', '10.0.0.0/8', '-1.1.1.1', '+1.1.1.1',
      '192.168.1.1', '1.2.3.4a', '١.1.1.1', '10.0.0.00', '100.200.250.255',
    ];
    for (const c of cases) expect([c, isIPv4(c)]).toEqual([c, ipaddr.IPv4.isValidFourPartDecimal(c)]);
  });

  it('agrees with ipaddr.js on 20,000 random dotted strings', () => {
    const next = random(12345);
    const rand = (n: number): number => Math.floor(next() * n);
    const part = (): string => {
      const r = rand(10);
      if (r === 0) return '0' + String(rand(300));
      if (r === 1) return String(rand(2000));
      if (r === 2) return ['', 'a', '0x1f', ' 1', '1 '][rand(5)]!;
      return String(rand(260));
    };
    for (let i = 0; i < 20000; i++) {
      const n = 3 + rand(3);
      const text = Array.from({ length: n }, part).join('.');
      expect([text, isIPv4(text)]).toEqual([text, ipaddr.IPv4.isValidFourPartDecimal(text)]);
    }
  });
});
