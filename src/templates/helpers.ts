/**
 * Handlebars helpers available to every fragment. Fragments only print: anything that
 * needs thought belongs in the model (src/model) or here, in TypeScript.
 */
import Handlebars from 'handlebars';
import { joinFields } from '../shorewall/index.js';

/** The slice of Handlebars' helper options we rely on (`loc` is untyped upstream). */
interface CallOptions {
  name?: string;
  hash?: Record<string, unknown>;
  loc?: { start: { line: number; column: number } };
}

/** A helper failed at a known fragment line; the renderer turns it into a GatehouseError. */
export class FragmentLineError extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
  ) {
    super(message);
  }
}

type Helper = (...args: unknown[]) => unknown;

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(text).join(',');
  return String(v);
}

function isOptions(v: unknown): v is CallOptions {
  return typeof v === 'object' && v !== null && 'hash' in v && 'data' in v;
}

/** Arguments without the trailing Handlebars options object. */
function argsOf(all: unknown[]): { args: unknown[]; options: CallOptions } {
  const last = all[all.length - 1];
  return isOptions(last) ? { args: all.slice(0, -1), options: last } : { args: all, options: {} };
}

const HELPERS: Record<string, Helper> = {
  /** `{{#if (eq a "b")}}` */
  eq: (a, b) => text(a) === text(b),
  ne: (a, b) => text(a) !== text(b),
  and: (...all) => argsOf(all).args.every((v) => Boolean(v)),
  or: (...all) => argsOf(all).args.some((v) => Boolean(v)),
  not: (a) => !a,
  /** `{{default db.configuration.firewall.props.Policy "strict"}}`: empty counts as missing (e-smith). */
  default: (value, fallback) => (text(value) === '' ? text(fallback) : value),
  /** `{{join list ","}}` (separator defaults to a comma) */
  join: (...all) => {
    const { args } = argsOf(all);
    const [list, sep] = args;
    if (!Array.isArray(list)) return text(list);
    return list.map(text).join(sep === undefined ? ',' : text(sep));
  },
  /** `{{#each (split db.configuration.firewall.props.Ports ",")}}`: empty items dropped. */
  split: (value, sep) =>
    text(value)
      .split(typeof sep === 'string' ? sep : ',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  /** `{{pad value 16}}`: left-aligned column of at least that width, one space minimum after. */
  pad: (value, width) => {
    const s = text(value);
    const w = Number(width);
    if (!Number.isInteger(w) || w < 0) throw new Error(`pad: width must be a whole number, got ${text(width)}`);
    return s.length >= w ? s + ' ' : s.padEnd(w);
  },
  /** `{{columns "DNAT" source dest "tcp" port}}`: values joined by tabs, empty ones as `-`. */
  columns: (...all) =>
    argsOf(all)
      .args.map((v) => (text(v) === '' ? '-' : text(v)))
      .join('\t'),
  /**
   * `{{row fields}}`: a model row printed from its named fields, in its file's column order,
   * trailing `-` columns left out. Named arguments replace fields: `{{row fields action="DROP"}}`.
   */
  row: (...all) => {
    const { args, options } = argsOf(all);
    const fields = args[0];
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new Error('give it a row\'s fields: {{row fields}} inside {{#each family.rules.rules}}{{#each rows}}...');
    }
    const hash = options.hash ?? {};
    // Nothing replaced: the row as the model wrote it.
    if (Object.keys(hash).length === 0) return joinFields(fields as Record<string, unknown>);
    const out: Record<string, unknown> = { ...(fields as Record<string, unknown>) };
    for (const [name, value] of Object.entries(hash)) {
      if (!Object.hasOwn(out, name)) throw new Error(`'${name}' is not a column of this row (columns: ${Object.keys(out).join(', ')})`);
      out[name] = value;
    }
    return joinFields(out);
  },
  /**
   * `{{rows family.rules.rules}}`: groups of commented rows (the model's `{ comment, rows }`)
   * printed as `?COMMENT <comment>` and then each row as `{{row fields}}` prints it, one line
   * each: the same text as the two nested `each` blocks, without a Handlebars frame per row.
   */
  rows: (groups) => {
    if (!Array.isArray(groups)) throw new Error('give it a list of commented rows: {{rows family.rules.rules}}');
    let out = '';
    for (const g of groups as { comment?: unknown; rows?: unknown }[]) {
      out += `?COMMENT ${text(g.comment)}\n`;
      for (const r of (g.rows ?? []) as { fields?: unknown; line?: unknown }[]) out += `${rowText(r)}\n`;
    }
    return out;
  },
  /**
   * `{{#each (records db.hosts "host")}}{{key}} {{props.IpAddress}}{{/each}}`: records as a
   * key-sorted list of `{ key, type, props }`, optionally only those of one type.
   */
  records: (...all) => {
    const { args } = argsOf(all);
    const [db, type] = args;
    if (db === null || typeof db !== 'object') return [];
    const out: { key: string; type: string; props: Record<string, string> }[] = [];
    for (const key of Object.keys(db).sort()) {
      const rec = (db as Record<string, { type?: unknown; props?: unknown }>)[key];
      if (!rec || typeof rec !== 'object') continue;
      const recType = text(rec.type);
      if (typeof type === 'string' && recType !== type) continue;
      out.push({ key, type: recType, props: (rec.props ?? {}) as Record<string, string> });
    }
    return out;
  },
};

/**
 * A model row as `{{row fields}}` prints it. Its line is that text already, and reading it
 * leaves the named fields unmade (they are built when first read); fields only without one.
 */
function rowText(r: { fields?: unknown; line?: unknown }): string {
  if (typeof r.line === 'string') return r.line;
  if (r.fields !== null && typeof r.fields === 'object' && !Array.isArray(r.fields)) return joinFields(r.fields as Record<string, unknown>);
  throw new Error('each row needs its fields');
}

function withLine(name: string, helper: Helper): Helper {
  return function (this: unknown, ...all: unknown[]): unknown {
    try {
      return helper.apply(this, all);
    } catch (e) {
      const { options } = argsOf(all);
      throw new FragmentLineError(`helper '${name}': ${(e as Error).message}`, options.loc?.start.line);
    }
  };
}

/** A private Handlebars environment with our helpers; created once per process. */
export function createHandlebars(): typeof Handlebars {
  const hb = Handlebars.create();
  for (const [name, helper] of Object.entries(HELPERS)) hb.registerHelper(name, withLine(name, helper));
  // A mistyped helper name is an error with its line, not a silent blank.
  hb.registerHelper('helperMissing', function (...all: unknown[]) {
    const { args, options } = argsOf(all);
    if (args.length === 0) return undefined;
    throw new FragmentLineError(
      `unknown helper '${options.name ?? '?'}' (known: ${Object.keys(HELPERS).sort().join(', ')}, if, unless, each, with, lookup)`,
      options.loc?.start.line,
    );
  });
  return hb;
}

export const HELPER_NAMES: readonly string[] = Object.keys(HELPERS).sort();
