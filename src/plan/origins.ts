/**
 * Where each compiled rule came from, kept beside the plan as `origins.json`: per family,
 * the rule as the compiler emitted it (`-A chain matches... target`), its table, and its
 * origin (file and line of the Shorewall-style files, and the database record a fragment
 * wrote that line from). Used to name the origin of a line the kernel refuses, found by the
 * line's text (so it does not depend on the shape of the restore script around it), and by
 * `gatehouse compile --explain`.
 */
export const ORIGINS_FILE = 'origins.json';

export interface OriginLine {
  table: string;
  rule: string;
  file: string;
  line: number;
  record?: string;
}

export interface PlanOrigins {
  v4: OriginLine[];
  v6: OriginLine[];
}

/** `etc/shorewall/rules:42 (fwrules/17)`. */
export function describeOrigin(o: Pick<OriginLine, 'file' | 'line' | 'record'>): string {
  return `${o.file}:${o.line}${o.record ? ` (${o.record})` : ''}`;
}

/** The rule with its `-A CHAIN` / `-I CHAIN [N]` head taken off, and the chain. */
function splitRule(text: string): { chain: string; body: string } | undefined {
  const m = /^\s*-[AI]\s+(\S+)\s+(?:\d+\s+)?(.*?)\s*$/.exec(text);
  return m ? { chain: m[1]!, body: m[2]! } : undefined;
}

/** One origin as stored: [table, rule, index into `files`, line, record?]. */
type StoredOrigin = [string, string, number, number, string?];

interface StoredOrigins {
  format: 2;
  files: string[];
  v4: StoredOrigin[];
  v6: StoredOrigin[];
}

/**
 * origins.json: each file named once, each origin an array. The file is as long as the
 * ruleset itself, and every event writes it, hashes it and reads it back: objects with
 * the same five keys and the same few file names made it twice that.
 */
export function serializeOrigins(origins: PlanOrigins): string {
  const files: string[] = [];
  const index = new Map<string, number>();
  const compact = (list: OriginLine[]): StoredOrigin[] =>
    list.map((o) => {
      let i = index.get(o.file);
      if (i === undefined) {
        i = files.push(o.file) - 1;
        index.set(o.file, i);
      }
      return o.record === undefined ? [o.table, o.rule, i, o.line] : [o.table, o.rule, i, o.line, o.record];
    });
  const stored: StoredOrigins = { format: 2, files, v4: compact(origins.v4), v6: compact(origins.v6) };
  return JSON.stringify(stored) + '\n';
}

export function parseOrigins(text: string): PlanOrigins | undefined {
  try {
    const value = JSON.parse(text) as Partial<PlanOrigins> | Partial<StoredOrigins>;
    if ((value as Partial<StoredOrigins>).format === 2) {
      const stored = value as Partial<StoredOrigins>;
      const files = Array.isArray(stored.files) ? stored.files : [];
      const expand = (list: unknown): OriginLine[] =>
        (Array.isArray(list) ? (list as StoredOrigin[]) : []).map(([table, rule, file, line, record]) => ({
          table,
          rule,
          file: files[file] ?? '?',
          line,
          ...(record === undefined ? {} : { record }),
        }));
      return { v4: expand(stored.v4), v6: expand(stored.v6) };
    }
    // Plans written before the compact form (an upgrade keeps them as previous).
    const plain = value as Partial<PlanOrigins>;
    return { v4: Array.isArray(plain.v4) ? plain.v4 : [], v6: Array.isArray(plain.v6) ? plain.v6 : [] };
  } catch {
    return undefined;
  }
}

/**
 * The origins of a rule line as a restore script gave it to the kernel: the same text first;
 * else the same matches and target in a chain of the same name; else the same matches and
 * target anywhere (the script may name or order chains its own way).
 */
export function findOrigins(origins: PlanOrigins | undefined, family: 4 | 6, text: string): OriginLine[] {
  if (!origins) return [];
  const lines = family === 4 ? origins.v4 : origins.v6;
  const wanted = text.trim();
  const exact = lines.filter((o) => o.rule === wanted);
  if (exact.length > 0) return exact;
  const split = splitRule(wanted);
  if (!split) return [];
  const same = lines.filter((o) => splitRule(o.rule)?.body === split.body);
  const sameChain = same.filter((o) => splitRule(o.rule)?.chain === split.chain);
  return sameChain.length > 0 ? sameChain : same;
}

/** Origins of the rules that use ipset `name`, both families. */
export function findSetUsers(origins: PlanOrigins | undefined, name: string): OriginLine[] {
  if (!origins) return [];
  const needle = `--match-set ${name} `;
  return [...origins.v4, ...origins.v6].filter((o) => o.rule.includes(needle));
}
