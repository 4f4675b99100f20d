/** Turning values into column rows and free text into harmless comments. */
import { type ColumnFile, namedCells } from '../shorewall/columns.js';
import type { CommentedRows, Row } from './types.js';

/** Cells joined by tabs; empty cells become `-` and trailing `-` cells are dropped. */
export function row(...cells: string[]): Row {
  // The last cell kept is found first, so the trailing empty ones are never copied (10,000 rows per event).
  let last = cells.length - 1;
  while (last > 0 && (cells[last] === '' || cells[last] === '-')) last--;
  const filled: string[] = new Array<string>(last + 1);
  for (let i = 0; i <= last; i++) filled[i] = cells[i] === '' ? '-' : cells[i]!;
  return { cells: filled, line: filled.join('\t') };
}

/**
 * The rows with their cells named by `file`'s columns, for fragments. `fields` is made when
 * first read: the shipped rules fragments print rows by their line ({{rows ...}}), so the
 * 10,000 rows of a 5,000-rule model need no named copy unless a custom fragment asks.
 */
export function named(file: ColumnFile, rows: Row[]): Row[] {
  return rows.map((r) => {
    let fields: Record<string, string> | undefined;
    return {
      ...r,
      get fields(): Record<string, string> {
        return (fields ??= namedCells(file, r.cells, r.line));
      },
    };
  });
}

export function namedGroups(file: ColumnFile, groups: CommentedRows[]): CommentedRows[] {
  return groups.map((g) => ({ comment: g.comment, rows: named(file, g.rows) }));
}

const COMMENT_MAX = 64;

/**
 * Free text (Description and the like) reduced to letters, digits, spaces and a few
 * punctuation marks, so a comment can never start a directive, a variable or a new column.
 */
// Printable ASCII: the same result without Unicode classes or a code-point split (most descriptions).
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function commentText(text: string): string {
  if (PRINTABLE_ASCII.test(text)) {
    const kept = text.replace(/[^A-Za-z0-9 ._,:/@+=()-]/g, ' ').replace(/ +/g, ' ').trim();
    return kept.length > COMMENT_MAX ? kept.slice(0, COMMENT_MAX).trimEnd() : kept;
  }
  const kept = text
    .replace(/[^\p{L}\p{N} ._,:/@+=()-]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = Array.from(kept);
  return chars.length > COMMENT_MAX ? chars.slice(0, COMMENT_MAX).join('').trimEnd() : kept;
}
