/**
 * The shell's quoting rules for the files Shorewall reads as shell (`params`) or as
 * shell-like assignments (`shorewall.conf`, `shorewall6.conf`): single quotes are
 * literal, double quotes expand `$NAME` and `${NAME}` and honour `\$ \" \\ \``, an
 * unquoted backslash escapes the next character, and a backslash at the end of a line
 * joins the next one. Command substitution and anything else the shell would run is
 * refused: Gatehouse evaluates values, never commands.
 */
import { GatehouseError } from '../errors/index.js';

export interface ShellPlace {
  file: string;
  line: number;
}

/** What `$NAME` expands to; undefined when the name is not defined. */
export type ShellLookup = (name: string, place: ShellPlace, column: number) => string;

const NAME_START = /[A-Za-z_]/;
/** A value longer than this is a runaway (a variable doubled line after line), not a setting. */
export const MAX_SHELL_VALUE = 1 << 20;
const NAME_CHAR = /[A-Za-z0-9_]/;

/**
 * The value of the shell word `text` (what follows `NAME=`), with anything after it
 * only a comment. `column` is where `text` starts on its line, for messages.
 */
export function shellWord(text: string, place: ShellPlace, column: number, lookup: ShellLookup): string {
  let out = '';
  let i = 0;
  const fail = (message: string, hint: string, at = i): GatehouseError =>
    new GatehouseError(message, { place: { ...place, column: String(column + at) }, hint });

  const expand = (): string => {
    // At text[i] === '$'.
    const start = i;
    const value = expandName();
    if (out.length + value.length > MAX_SHELL_VALUE) {
      throw fail(
        `the value grows past ${MAX_SHELL_VALUE / 1024} KiB here (${text.slice(start, i)} adds ${value.length} characters): a variable that doubles itself line after line?`,
        'give each parameter its final value instead of building it from itself',
        start,
      );
    }
    return value;
  };

  const expandName = (): string => {
    const start = i;
    i++;
    if (text[i] === '{') {
      const close = text.indexOf('}', i);
      const name = close < 0 ? '' : text.slice(i + 1, close);
      if (close < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw fail(`'${text.slice(start, close < 0 ? undefined : close + 1)}' is a shell expansion Gatehouse does not evaluate`, 'write ${NAME} or $NAME, or the value itself', start);
      }
      i = close + 1;
      return lookup(name, place, column + start);
    }
    if (text[i] === '(' || text[i] === '[') throw fail('command substitution and arithmetic are not evaluated', 'write the value itself', start);
    if (i >= text.length || !NAME_START.test(text[i]!)) return '$';
    let end = i;
    while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
    const name = text.slice(i, end);
    i = end;
    return lookup(name, place, column + start);
  };

  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') break;
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw fail('a single quote is not closed', "close the quote on the same line: NAME='value'");
      out += text.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw fail('a double quote is not closed', 'close the quote on the same line: NAME="value"');
        const d = text[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < text.length && '$"\\`'.includes(text[i + 1]!)) {
          out += text[i + 1];
          i += 2;
        } else if (d === '$') out += expand();
        else if (d === '`') throw fail('command substitution is not evaluated', 'write the value itself');
        else {
          out += d;
          i++;
        }
      }
    } else if (c === '\\') {
      if (i + 1 < text.length) out += text[i + 1];
      i += 2;
    } else if (c === '$') out += expand();
    else if (c === '`' || c === ';' || c === '|' || c === '&' || c === '<' || c === '>' || c === '(' || c === ')') {
      throw fail(`'${c}' makes this a shell command Gatehouse does not run`, 'write a plain value, quoted if it holds spaces or special characters: NAME="a b"');
    } else {
      out += c;
      i++;
    }
  }
  const rest = text.slice(i).trim();
  if (rest !== '' && !rest.startsWith('#')) {
    throw fail(`'${rest}' follows the value`, 'quote a value that holds spaces: NAME="a b"', text.indexOf(rest, i));
  }
  return out;
}

/**
 * Physical lines joined where a line ends in an unescaped backslash (the shell removes
 * the backslash and the line break). Each logical line keeps its first physical line number.
 */
export function shellLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const joined = pending ? { text: pending.text + line, line: pending.line } : { text: line, line: index + 1 };
    const trailing = /(\\+)$/.exec(joined.text);
    if (trailing && trailing[1]!.length % 2 === 1 && !joined.text.trimStart().startsWith('#')) {
      pending = { text: joined.text.slice(0, -1), line: joined.line };
      return;
    }
    pending = undefined;
    out.push(joined);
  });
  if (pending) out.push(pending);
  return out;
}
