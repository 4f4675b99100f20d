/**
 * `{{row fields}}` prints the text the model kept for a row instead of joining its fields
 * again: that text must be what joining the fields gives, for every shape of row.
 */
import { describe, expect, it } from 'vitest';
import { row } from '../../src/model/index.js';
import { SHOREWALL_COLUMNS, type ColumnFile, joinFields, namedCells } from '../../src/shorewall/index.js';
import { random } from '../differential/generator.js';

describe('a row printed by its fields', () => {
  it('is the row text the model wrote, for 5,000 random rows of every file', () => {
    const next = random(99);
    const rand = (n: number): number => Math.floor(next() * n);
    const values = ['', '-', 'ACCEPT', 'loc:10.0.0.1', 'net', 'tcp', '22,80', '$FW', 'a-b'];
    const files = Object.keys(SHOREWALL_COLUMNS) as ColumnFile[];
    for (let i = 0; i < 5000; i++) {
      const file = files[rand(files.length)]!;
      const cells = Array.from({ length: 1 + rand(SHOREWALL_COLUMNS[file].length) }, () => values[rand(values.length)]!);
      const r = row(...cells);
      const fresh = namedCells(file, r.cells);
      const kept = namedCells(file, r.cells, r.line);
      expect(joinFields(fresh)).toBe(r.line);
      expect(joinFields(kept)).toBe(joinFields({ ...kept }));
    }
  });
});
