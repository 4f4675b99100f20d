/**
 * Turning a file's text into rows of columns: comments, continuation lines, the
 * `?FORMAT` / `?SECTION` / `?COMMENT` directives, `$NAME` substitution and Shorewall's
 * alternative `{column:value, ...}` form. Each value remembers the character column it
 * came from, so an error can point at it.
 */
import { GatehouseError } from '../errors/index.js';

/** Values that `$NAME` and `${NAME}` expand to. */
export type Params = Record<string, string>;

/** One directive or data line, as the file parsers see it. */
export type FileItem =
  | { kind: 'row'; row: Row }
  | { kind: 'format'; format: number; line: number }
  | { kind: 'section'; name: string; line: number; column: number }
  | { kind: 'comment'; text: string | undefined; line: number };

/** A data line split into columns. `-` and missing columns read as undefined. */
export class Row {
  constructor(
    readonly file: string,
    readonly line: number,
    private readonly values: (string | undefined)[],
    private readonly columns: number[],
    private readonly names: readonly string[],
  ) {}

  /** The value of column `index`, or undefined when empty or `-`. */
  get(index: number): string | undefined {
    const v = this.values[index];
    return v === undefined || v === '-' || v === '' ? undefined : v;
  }

  /** The value that must be present. */
  need(index: number, what: string): string {
    const v = this.get(index);
    if (v === undefined) throw this.fail(index, `the ${this.names[index] ?? 'column'} column is empty`, `expected ${what}`);
    return v;
  }

  /** Columns beyond the known ones that hold something. */
  extraColumnIndex(): number | undefined {
    for (let i = this.names.length; i < this.values.length; i++) if (this.values[i] !== undefined) return i;
    return undefined;
  }

  /** An error pointing at column `index` of this line. */
  fail(index: number, message: string, hint?: string): GatehouseError {
    const name = this.names[index] ?? `column ${index + 1}`;
    const col = this.columns[index];
    return new GatehouseError(message, {
      place: { file: this.file, line: this.line, column: col === undefined ? name : `${col} (${name})` },
      ...(hint === undefined ? {} : { hint }),
    });
  }
}

export interface SplitOptions {
  file: string;
  /** Column names in order, lower case, as used by the `{name:value}` form; may depend on ?FORMAT. */
  columns: readonly string[] | ((format: number) => readonly string[]);
  params: Params;
  /** Name substituted for `$FW`. */
  firewallZone: string;
}

const UNSUPPORTED_DIRECTIVES = /^\?(IF|ELSIF|ELSE|ENDIF|SET|RESET|ERROR|WARNING|INFO|BEGIN|END|PERL|SHELL|REQUIRE)\b/i;

/** Receives each directive and row of a file, in file order. */
export type ItemVisitor = (item: FileItem) => void;

/** Splits a file into directives and rows. Throws GatehouseError for anything unreadable. */
export function splitFile(text: string, options: SplitOptions): FileItem[] {
  const items: FileItem[] = [];
  eachItem(text, options, (item) => items.push(item));
  return items;
}

/**
 * Hands each directive and row to `visit` as soon as it is split, so the rows of a large
 * rules file die young instead of all living (and being copied by the garbage collector)
 * until the file is parsed. Errors come in the order a whole-file split gives: when
 * `visit` throws, the rest of the file is still split, unvisited, and a splitting error
 * there is the one reported.
 */
export function eachItem(text: string, options: SplitOptions, visit: ItemVisitor): void {
  let pending = '';
  let pendingLine = 0;
  let format = 1;
  let visitError: { error: unknown } | undefined;
  const columnsNow = () => (typeof options.columns === 'function' ? options.columns(format) : options.columns);
  const hand = (item: FileItem) => {
    if (visitError) return;
    try {
      visit(item);
    } catch (error) {
      visitError = { error };
    }
  };
  // Physical lines found with indexOf rather than text.split('\n'): no array of every line.
  for (let from = 0, lineNo = 1; from <= text.length; lineNo++) {
    let next = text.indexOf('\n', from);
    if (next < 0) next = text.length;
    let raw = text.slice(from, next);
    from = next + 1;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const start = pending === '' ? lineNo : pendingLine;
    let withoutComment = stripComment(raw);
    // As Shorewall: a continuation's leading blanks go when the line so far ends in ',' or ':'
    // (a list or a zone:address split over lines); otherwise the text joins as it is.
    if (pending !== '' && (pending.endsWith(',') || pending.endsWith(':'))) withoutComment = withoutComment.trimStart();
    if (withoutComment.endsWith('\\')) {
      if (pending === '') pendingLine = lineNo;
      pending += withoutComment.slice(0, -1);
      continue;
    }
    const full = pending + withoutComment;
    pending = '';
    const trimmed = full.trim();
    if (trimmed === '') continue;
    // ?COMMENT keeps the original text (a # in it would be odd but is not ours to refuse).
    const directive = directiveOf(trimmed, raw, start, options);
    if (directive) {
      if (directive.kind === 'format') format = directive.format;
      hand(directive);
      continue;
    }
    hand({ kind: 'row', row: splitRow(full, start, options, columnsNow()) });
  }
  if (pending !== '') {
    throw new GatehouseError('the file ends inside a continued line', {
      place: { file: options.file, line: pendingLine },
      hint: 'remove the trailing backslash',
    });
  }
  if (visitError) throw visitError.error;
}

function stripComment(line: string): string {
  const hash = line.indexOf('#');
  return (hash < 0 ? line : line.slice(0, hash)).trimEnd();
}

/** First characters of ?..., SECTION (any case), COMMENT and INCLUDE: most lines are rules and skip the directive regexes. */
const DIRECTIVE_STARTS = new Set(['?', 'S', 's', 'C', 'I']);

function directiveOf(trimmed: string, raw: string, line: number, options: SplitOptions): FileItem | undefined {
  if (!DIRECTIVE_STARTS.has(trimmed[0] ?? '')) return undefined;
  const place = { file: options.file, line };
  let m = /^\?FORMAT\s+(\S+)$/i.exec(trimmed);
  if (m) {
    const format = Number(m[1]);
    if (!Number.isInteger(format) || format < 1 || format > 3) {
      throw new GatehouseError(`unknown format '${m[1]}'`, { place, hint: 'expected ?FORMAT 1 or ?FORMAT 2' });
    }
    return { kind: 'format', format, line };
  }
  m = /^\??SECTION\s+(\S+)$/i.exec(trimmed);
  if (m) return { kind: 'section', name: (m[1] ?? '').toUpperCase(), line, column: raw.indexOf(m[1] ?? '') + 1 };
  if (/^\?COMMENT\b/i.test(trimmed)) {
    // The comment text is taken from the raw line: a '#' inside it is part of the text.
    const text = raw.trim().replace(/^\?COMMENT\b/i, '').trim();
    return { kind: 'comment', text: text === '' ? undefined : substitute(text, place, 1, options), line };
  }
  if (/^COMMENT\b/.test(trimmed)) {
    const text = trimmed.replace(/^COMMENT\b/, '').trim();
    return { kind: 'comment', text: text === '' ? undefined : substitute(text, place, 1, options), line };
  }
  if (UNSUPPORTED_DIRECTIVES.test(trimmed) || /^INCLUDE\b/.test(trimmed)) {
    const word = trimmed.split(/\s+/)[0] ?? trimmed;
    throw new GatehouseError(`'${word}' is valid Shorewall but Gatehouse does not support it yet`, {
      place,
      hint: 'expand the condition or include into plain lines',
    });
  }
  if (trimmed.startsWith('?')) {
    throw new GatehouseError(`unknown directive '${trimmed.split(/\s+/)[0]}'`, {
      place,
      hint: 'expected ?FORMAT, ?SECTION or ?COMMENT',
    });
  }
  return undefined;
}

function splitRow(text: string, line: number, options: SplitOptions, names: readonly string[]): Row {
  const open = text.indexOf('{');
  if (open >= 0 && text.slice(0, open).trim() === '') return splitAlternative(text, open, line, options, names);
  const values: string[] = [];
  const columns: number[] = [];
  // Scanned by hand rather than with /\S+/g: a regex match object per column was a large share of the parser's garbage.
  for (let start = 0, end = 0; start < text.length; start = end) {
    while (start < text.length && isSpace(text, start)) start++;
    if (start === text.length) break;
    end = start + 1;
    while (end < text.length && !isSpace(text, end)) end++;
    const word = text.slice(start, end);
    const col = start + 1;
    if (!word.includes('$')) {
      values.push(word);
      columns.push(col);
      continue;
    }
    const value = substitute(word, { file: options.file, line }, col, options);
    // A parameter holding spaces expands to several columns, as in the shell.
    for (const part of value.split(/\s+/)) {
      if (part === '') continue;
      values.push(part);
      columns.push(col);
    }
  }
  return new Row(options.file, line, values, columns, names);
}

/** White space as `\s` means it in a regular expression (ASCII decided without one). */
function isSpace(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return /\s/.test(text.charAt(i));
}

/** `{action:ACCEPT, source:loc, dport:80,443}`: pairs split where a known column name follows. */
function splitAlternative(text: string, open: number, line: number, options: SplitOptions, columnNames: readonly string[]): Row {
  const place = { file: options.file, line };
  const close = text.lastIndexOf('}');
  if (close < open || text.slice(close + 1).trim() !== '') {
    throw new GatehouseError('unbalanced braces in the {column:value} form', {
      place: { ...place, column: String(open + 1) },
      hint: 'expected {name:value, ...} on one line',
    });
  }
  const body = text.slice(open + 1, close);
  const names = columnNames.map((n) => n.replace(/[^a-z_]/g, ''));
  const starter = new RegExp(`(^|[\\s,]+)(${names.join('|')})\\s*(=>|:|=)`, 'g');
  const marks: { name: string; nameAt: number; valueAt: number }[] = [];
  for (let m = starter.exec(body); m; m = starter.exec(body)) {
    const nameAt = m.index + (m[1] ?? '').length;
    marks.push({ name: m[2] ?? '', nameAt, valueAt: m.index + m[0].length });
  }
  if (marks.length === 0 || body.slice(0, marks[0]?.nameAt ?? 0).trim() !== '') {
    throw new GatehouseError('cannot read the {column:value} form', {
      place: { ...place, column: String(open + 2) },
      hint: `expected column names among: ${names.join(', ')}`,
    });
  }
  const values: (string | undefined)[] = [];
  const columns: number[] = [];
  for (let k = 0; k < marks.length; k++) {
    const mark = marks[k]!;
    const end = k + 1 < marks.length ? marks[k + 1]!.nameAt : body.length;
    const rawValue = body.slice(mark.valueAt, end).replace(/[\s,]+$/, '').trim();
    const index = names.indexOf(mark.name);
    const col = open + 2 + mark.valueAt;
    if (values[index] !== undefined) {
      throw new GatehouseError(`column '${mark.name}' is given twice`, { place: { ...place, column: String(col) } });
    }
    if (/\s/.test(rawValue)) {
      throw new GatehouseError(`the value of '${mark.name}' holds a space`, {
        place: { ...place, column: String(col) },
        hint: 'separate pairs with a comma and a space, and list values with commas only',
      });
    }
    values[index] = substitute(rawValue, place, col, options);
    columns[index] = col;
  }
  return new Row(options.file, line, values, columns, columnNames);
}

/** Expands `$NAME`, `${NAME}` and `$FW`. An undefined name is an error at its column. */
export function substitute(
  text: string,
  place: { file: string; line: number },
  column: number,
  options: Pick<SplitOptions, 'params' | 'firewallZone'>,
): string {
  if (!text.includes('$')) return text;
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced, bare, offset: number) => {
    const name = (braced ?? bare) as string;
    if (name === 'FW') return options.firewallZone;
    const value = options.params[name];
    if (value === undefined) {
      throw new GatehouseError(`parameter '${name}' is not defined`, {
        place: { ...place, column: String(column + offset) },
        hint: `define ${name}=... in params, or write the value itself`,
      });
    }
    void whole;
    return value;
  });
}
