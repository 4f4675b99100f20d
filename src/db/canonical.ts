/**
 * Recognises a database file that is already in the form serializeDatabase writes
 * (store.ts), line by line as it is read, without parsing it into objects.
 *
 * Why: a write of one record replaces only that record's line, which gives the bytes the
 * whole parse and serialization would give only when the file is already in that form.
 * Parsing and re-serializing 10,000 records to find out cost a `setprop` three times what
 * the rest of it costs (mostly the garbage collector moving 10,000 live records and fresh
 * memory for five copies of 2 MB). Here a regular expression (native code) checks the
 * lines in blocks; JavaScript only compares the keys. The prop names are checked once:
 * the expression knows the names met so far, in order, each optional, so a record it
 * matches has its props sorted and none twice.
 *
 * Sound, not complete: it vouches only for the common form of that output, where every
 * line is `"key":{"type":"...","props":{"prop":"value",...}}`, keys and prop names come
 * in the order JavaScript lists them, and every string is written as JSON.stringify writes
 * it (its escapes only, valid UTF-8). Anything else (extra fields in a record, keys of ten
 * or more digits, props named by digits alone, `__proto__`, more than MAX_NAMES prop
 * names) is not vouched for, and the caller takes the whole path, right for every file.
 */

/**
 * A character of a JSON string as JSON.stringify writes it, but `"`, `\\` and escapes:
 * printable ASCII, and any byte of a UTF-8 sequence (the one-byte view shows each byte as
 * a character; a block with such bytes must also decode as UTF-8 without a replacement,
 * see block()).
 */
const CHAR = String.raw`[ !#-\[\]-\xff]`;
/** The escapes JSON.stringify writes. */
const ESCAPE = String.raw`\\(?:["\\bfnrt]|u00(?:0[0-7bef]|1[0-9a-f]))`;
/** The inside of a JSON string exactly as JSON.stringify writes it. */
const STRING = `${CHAR}*(?:${ESCAPE}${CHAR}*)*`;
/** A byte of a UTF-8 sequence (any byte outside ASCII). */
const NOT_ASCII = /[\x80-\xff]/;
/** The key at the start of each line of a block of record lines. */
const KEYS = /^"(?:[^"\\\n]|\\.)*":/gm;
/** A key JavaScript lists among array indexes, in numeric order (up to 9 digits). */
const INDEX = /^(?:0|[1-9][0-9]{0,8})$/;
/** All digits: an array index when short enough; ten digits or more is not vouched for. */
const DIGITS = /^[0-9]+$/;
/** A key or name whose bytes do not compare as its characters do (escapes, non-ASCII). */
const NOT_PLAIN = /[\\\x80-\xff]/;

/** Beyond this many prop names in one database, the file is not vouched for (the expression would grow without bound). */
const MAX_NAMES = 64;

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** A JSON string's inside (one-byte view of its UTF-8 bytes) as the string it stands for. */
function decode(raw: string): string {
  return JSON.parse(`"${Buffer.from(raw, 'latin1').toString('utf8')}"`) as string;
}

/** JavaScript's order of two property names that are not array indexes (UTF-16 code units). */
function compareNames(a: string, b: string): number {
  if (NOT_PLAIN.test(a) || NOT_PLAIN.test(b)) {
    a = decode(a);
    b = decode(b);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Feed it the file's complete lines in order (`block`), then `end()`: true when the
 * whole file is in the form above. It also finds the line of one key.
 */
export class CanonicalScanner {
  /** Byte offsets of the line holding the key given to the constructor: its first byte and its newline. */
  line: { start: number; end: number } | undefined;
  private ok = true;
  private started = false;
  /** What follows the last record: the closing brace, once the last record is seen. */
  private tail: string | undefined;
  private previous: string | undefined;
  private previousIndex = -1;
  /** The prop names met so far (decoded), sorted. */
  private readonly names: string[] = [];
  private lines!: RegExp;
  private last!: RegExp;
  /** `"key":{` as the one-byte view of its UTF-8 bytes shows it. */
  private readonly needle: string;

  constructor(key: string) {
    this.needle = Buffer.from(`${JSON.stringify(key)}:{`).toString('latin1');
    this.compile();
  }

  private compile(): void {
    // Each known name in order, optional; after a prop comes a comma and another prop, or the end.
    const props = this.names
      .map((n) => String.raw`(?:${escapeRegExp(Buffer.from(JSON.stringify(n)).toString('latin1'))}:"${STRING}"(?:,(?=")|(?=\})))?`)
      .join('');
    const record = String.raw`"${STRING}":\{"type":"${STRING}","props":\{${props}\}\}`;
    this.lines = new RegExp(String.raw`(?:${record},\n)*`, 'y');
    this.last = new RegExp(String.raw`${record}\n`, 'y');
  }

  /**
   * The next complete lines of the file: bytes [from, to) of `chunk`, ending with a
   * newline, the first of which is byte `offset` of the file. Returns false once the file
   * cannot be vouched for (nothing more needs feeding).
   */
  block(chunk: Buffer, from: number, to: number, offset: number): boolean {
    if (!this.ok) return false;
    try {
      return this.scanBlock(chunk, from, to, offset);
    } catch (e) {
      // A string of millions of escapes overflows the expression's backtracking stack:
      // not vouched for (the whole path parses it).
      if (e instanceof RangeError) return (this.ok = false);
      throw e;
    }
  }

  private scanBlock(chunk: Buffer, from: number, to: number, offset: number): boolean {
    const text = chunk.toString('latin1', from, to);
    // Valid UTF-8 (no lone surrogate, no overlong form): decoding it replaces nothing.
    if (NOT_ASCII.test(text) && chunk.toString('utf8', from, to).includes('\ufffd')) return (this.ok = false);
    if (this.tail !== undefined) {
      this.tail += text;
      return (this.ok = this.tail.length <= 2);
    }
    let pos = 0;
    if (!this.started) {
      this.started = true;
      if (!text.startsWith('{\n')) return (this.ok = false);
      pos = 2;
    }
    const keysFrom = pos;
    while (pos < text.length) {
      this.lines.lastIndex = pos;
      this.lines.test(text);
      pos = this.lines.lastIndex;
      if (pos === text.length) break;
      // The last record (no comma); only the closing brace may follow.
      this.last.lastIndex = pos;
      if (this.last.test(text)) {
        this.tail = text.slice(this.last.lastIndex);
        if (this.tail.length > 2) return (this.ok = false);
        break;
      }
      // A record of a shape not met yet (or not in the form at all).
      if (!this.learnShape(text.slice(pos, text.indexOf('\n', pos)))) return (this.ok = false);
    }
    if (!this.keysInOrder(text, keysFrom)) return (this.ok = false);
    if (this.line === undefined) {
      let start = -1;
      if (text.startsWith(this.needle, keysFrom)) start = keysFrom;
      else {
        const newline = text.indexOf(`\n${this.needle}`, keysFrom);
        if (newline >= 0) start = newline + 1;
      }
      if (start >= 0) this.line = { start: offset + start, end: offset + text.indexOf('\n', start) };
    }
    return true;
  }

  /** At the end of the file: whether all of it is in the form. */
  end(): boolean {
    return this.ok && this.tail === '}\n';
  }

  /** Keys in the order JavaScript lists them: array indexes ascending, then the others sorted; none twice. */
  private keysInOrder(text: string, from: number): boolean {
    // One native call for the whole block (each match is `"key":`).
    const found = (from === 0 ? text : text.slice(from)).match(KEYS) ?? [];
    for (const match of found) {
      const key = match.slice(1, -2);
      if (key === '__proto__') return false;
      let index = -1;
      if (DIGITS.test(key)) {
        if (INDEX.test(key)) index = Number(key);
        else if (key.length >= 10) return false;
      }
      if (this.previous !== undefined) {
        if (index >= 0 ? this.previousIndex < 0 || index <= this.previousIndex : this.previousIndex < 0 && compareNames(this.previous, key) >= 0) return false;
      }
      this.previous = key;
      this.previousIndex = index;
    }
    return true;
  }

  /**
   * A record line (one-byte view, with its comma) the expression did not match, checked the
   * slow way: parsed, and written back exactly as serializeDatabase writes a record. When it
   * is, its prop names join those the expression knows; false when it is not, or when it
   * brings no new name (then the expression refused it for another reason).
   */
  private learnShape(line: string): boolean {
    const body = line.endsWith(',') ? line.slice(0, -1) : line;
    let parsed: unknown;
    try {
      parsed = JSON.parse(`{${Buffer.from(body, 'latin1').toString('utf8')}}`);
    } catch {
      return false;
    }
    const keys = Object.keys(parsed as object);
    if (keys.length !== 1) return false;
    const record = (parsed as Record<string, unknown>)[keys[0]!] as { type?: unknown; props?: unknown } | null;
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return false;
    const fields = Object.keys(record);
    if (fields.length !== 2 || fields[0] !== 'type' || fields[1] !== 'props' || typeof record.type !== 'string') return false;
    const props = record.props;
    if (props === null || typeof props !== 'object' || Array.isArray(props)) return false;
    const names = Object.keys(props);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (name === '__proto__' || DIGITS.test(name) || typeof (props as Record<string, unknown>)[name] !== 'string') return false;
      if (i > 0 && !(names[i - 1]! < name)) return false;
    }
    // Written back, byte for byte: escapes as JSON.stringify writes them, valid UTF-8.
    if (Buffer.from(`${JSON.stringify(keys[0])}:${JSON.stringify(record)}`).toString('latin1') !== body) return false;
    const added = names.filter((n) => !this.names.includes(n));
    if (added.length === 0 || this.names.length + added.length > MAX_NAMES) return false;
    this.names.push(...added);
    this.names.sort();
    this.compile();
    return true;
  }
}
