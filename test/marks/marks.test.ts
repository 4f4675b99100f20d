import { describe, expect, it } from 'vitest';
import { CLASS_MASK, CONNMARK_SAVE_MASK, IPS_BYPASS_MARK, NDPI_MASK, PROVIDER_MASK, classMark, hexMark, providerMark } from '../../src/marks/index.js';

describe('mark allocator', () => {
  it('keeps every feature in bits of its own', () => {
    const fields = [CLASS_MASK, IPS_BYPASS_MARK, NDPI_MASK, PROVIDER_MASK];
    for (const a of fields) for (const b of fields) if (a !== b) expect(a & b).toBe(0);
  });

  it('uses the class Mark as the number itself, so Mark 63 stays inside the class mask', () => {
    expect(classMark(63) & ~CLASS_MASK).toBe(0);
    expect(hexMark(classMark(40))).toBe('0x28');
    expect(() => classMark(64)).toThrow(/outside 1..63/);
    expect(() => classMark(0)).toThrow(/outside/);
  });

  it('puts provider numbers in 0xf0000 as NethServer does', () => {
    expect(hexMark(providerMark(1))).toBe('0x10000');
    expect(hexMark(providerMark(15))).toBe('0xf0000');
    expect(providerMark(2) & ~PROVIDER_MASK).toBe(0);
    expect(() => providerMark(16)).toThrow(/outside 1..15/);
  });

  it('never saves the IPS bypass bit into the connection mark', () => {
    expect(CONNMARK_SAVE_MASK & IPS_BYPASS_MARK).toBe(0);
  });
});
