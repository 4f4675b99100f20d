/**
 * The scan that vouches for a database file being in serializeDatabase's form (canonical.ts).
 * It must be sound: whenever it vouches for bytes, they are exactly what the whole parse
 * and serialization gives (random files and random damage to them); and it must vouch for
 * what serializeDatabase writes in the common form, in blocks of any size, finding the
 * line of the key asked for.
 */
import { describe, expect, it } from 'vitest';
import { CanonicalScanner } from '../../src/db/canonical.js';
import { type Database, checkDatabaseShape, serializeDatabase } from '../../src/db/store.js';
import { random } from '../differential/generator.js';

/** The scan over `bytes`, fed in blocks of whole lines of at least `size` bytes, as store.ts feeds it. */
function scan(bytes: Buffer, key: string, size = 64 * 1024): { vouched: boolean; line: { start: number; end: number } | undefined } {
  const scanner = new CanonicalScanner(key);
  let offset = 0;
  while (offset < bytes.length) {
    const newline = bytes.indexOf(10, Math.min(bytes.length - 1, offset + size - 1));
    if (newline < 0) return { vouched: false, line: scanner.line };
    if (!scanner.block(bytes, offset, newline + 1, offset)) return { vouched: false, line: scanner.line };
    offset = newline + 1;
  }
  return { vouched: scanner.end(), line: scanner.line };
}

/** What the whole path writes for these bytes, or undefined when they are not a database. */
function rewritten(bytes: Buffer): string | undefined {
  try {
    return serializeDatabase(checkDatabaseShape(JSON.parse(bytes.toString('utf8')), 'f'));
  } catch {
    return undefined;
  }
}

const KEYS = ['1', '2', '10', '300', '0', '07', '123456789', '1234567890', 'alpha', 'beta', 'Zed', 'k"q', 'k\\b', 'ünï', 'a b', 'tab\there', '😀', '\u2028', 'x}},"y', ''];
const PROPS = ['Description', 'a', 'Z', 'b', 'status', 'x}},"y', 'é', '1x', 'ctl\u0001'];
const VALUES = ['', 'v', 'two words', 'x}},"y', 'line\nbreak', 'é', '"quoted"', '\\', '\u007f', '\u001f', '\t', '😀', 'a/b'];

function randomDatabase(next: () => number, records: number): Database {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const db: Database = {};
  for (let i = 0; i < records; i++) {
    const key = next() < 0.5 ? String(Math.floor(next() * 1000)) : `${pick(KEYS)}${next() < 0.5 ? '' : Math.floor(next() * 50)}`;
    const props: Record<string, string> = {};
    const n = Math.floor(next() * 5);
    for (let p = 0; p < n; p++) props[pick(PROPS)] = pick(VALUES);
    db[key] = { type: pick(['host', 'rule', 'x', '']), props };
  }
  return db;
}

/** Damage of the kinds hand edits and crashes give. */
function damage(text: string, next: () => number): string {
  const at = Math.floor(next() * text.length);
  const lines = text.split('\n');
  const line = 1 + Math.floor(next() * Math.max(1, lines.length - 3));
  switch (Math.floor(next() * 10)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1);
    case 1:
      return `${text.slice(0, at)} ${text.slice(at)}`;
    case 2:
      return `${text.slice(0, at)}${String.fromCharCode(Math.floor(next() * 128))}${text.slice(at)}`;
    case 3: {
      // Two lines swapped.
      const other = 1 + Math.floor(next() * Math.max(1, lines.length - 3));
      [lines[line], lines[other]] = [lines[other]!, lines[line]!];
      return lines.join('\n');
    }
    case 4:
      // A line twice.
      lines.splice(line, 0, lines[line]!);
      return lines.join('\n');
    case 5:
      return text.replace('"props":{"', '"props":{"zz":"1","');
    case 6:
      return text.replace(/"type":"([^"]*)","props":(\{[^}]*\})/, '"props":$2,"type":"$1"');
    case 7:
      return text.replace('é', '\\u00e9');
    case 8:
      return text.replace(/\}\},\n/, '},"extra":1},\n');
    default:
      return text.slice(0, at);
  }
}

describe('the canonical-form scan', () => {
  it('vouches for what serializeDatabase writes, in blocks of any size, and finds the line of the key', () => {
    const next = random(7);
    for (let round = 0; round < 60; round++) {
      const db = randomDatabase(next, 1 + Math.floor(next() * 30));
      // Keys of ten digits or more, props named by digits: forms the scan does not vouch for.
      const common = Object.keys(db).every((k) => !/^[0-9]{10,}$/.test(k) && Object.keys(db[k]!.props).every((p) => !/^[0-9]+$/.test(p)));
      const bytes = Buffer.from(serializeDatabase(db));
      const keys = Object.keys(db);
      const key = keys[Math.floor(next() * keys.length)]!;
      for (const size of [1, 64, 64 * 1024]) {
        const { vouched, line } = scan(bytes, key, size);
        expect(vouched, `round ${round} size ${size}: ${bytes.toString()}`).toBe(common);
        if (!common) continue;
        const text = bytes.toString('utf8', line!.start, line!.end);
        expect(JSON.parse(`{${text.replace(/,$/, '')}}`)).toEqual({ [key]: db[key] });
      }
      expect(scan(bytes, 'no such key').line).toBeUndefined();
    }
  });

  it('whenever it vouches for a file, the whole path would write that very file (random damage)', () => {
    const next = random(11);
    let vouchedDamaged = 0;
    for (let round = 0; round < 3000; round++) {
      const text = serializeDatabase(randomDatabase(next, 1 + Math.floor(next() * 8)));
      let damaged = damage(text, next);
      if (next() < 0.3) damaged = damage(damaged, next);
      const bytes = Buffer.from(damaged);
      for (const size of [1, 64 * 1024]) {
        if (!scan(bytes, '1', size).vouched) continue;
        // Byte for byte (damage that cut a surrogate pair gives bytes of U+FFFD, not the string's).
        expect(rewritten(bytes), `round ${round}: ${JSON.stringify(damaged)}`).toBe(bytes.toString('utf8'));
        expect(Buffer.from(rewritten(bytes)!).equals(bytes)).toBe(true);
        if (bytes.toString('utf8') !== text) vouchedDamaged++;
      }
    }
    // Some damage leaves a file in the form (a value changed by hand): those are vouched for, rightly.
    expect(vouchedDamaged).toBeGreaterThan(0);
  });

  it('does not vouch for invalid UTF-8, forms of older versions, or an empty database', () => {
    const one = serializeDatabase({ a: { type: 'host', props: { Description: 'é' } } });
    expect(scan(Buffer.from(one), 'a').vouched).toBe(true);
    const bad = Buffer.from(one);
    bad[bad.indexOf(0xc3)] = 0xff;
    expect(scan(bad, 'a').vouched).toBe(false);
    // A lone surrogate, escaped: JSON.stringify writes it, the scan does not vouch for it (the whole path runs).
    expect(scan(Buffer.from(serializeDatabase({ a: { type: 'host', props: { D: '\ud800' } } })), 'a').vouched).toBe(false);
    expect(scan(Buffer.from(`${JSON.stringify({ a: { type: 'host', props: {} } }, null, 2)}\n`), 'a').vouched).toBe(false);
    expect(scan(Buffer.from('{}\n'), 'a').vouched).toBe(false);
    expect(scan(Buffer.from('{\n"__proto__":{"type":"x","props":{}}\n}\n'), '__proto__').vouched).toBe(false);
    expect(scan(Buffer.from('{\n"a":{"type":"x","props":{"__proto__":"1"}}\n}\n'), 'a').vouched).toBe(false);
  });
});
