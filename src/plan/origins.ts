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

export function parseOrigins(text: string): PlanOrigins | undefined {
  try {
    const value = JSON.parse(text) as Partial<PlanOrigins>;
    return { v4: Array.isArray(value.v4) ? value.v4 : [], v6: Array.isArray(value.v6) ? value.v6 : [] };
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
