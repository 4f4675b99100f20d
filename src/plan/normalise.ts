/**
 * iptables-save output reduced to what a plan decides: no counters, no comments, no
 * header lines with dates, no table that only holds built-in chains accepting everything
 * (it filters nothing, and whether the kernel lists it depends on what ran before).
 * Two normalised saves are equal exactly when the kernel holds the same chains, policies
 * and rules in the same order.
 */

export function normaliseSave(text: string): string {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    line = line.replace(/^\[\d+:\d+\]\s+/, '');
    if (line.startsWith(':')) line = line.replace(/\s+\[\d+:\d+\]$/, '');
    line = line
      .replace(/\s+-m comment --comment ("(?:[^"\\]|\\.)*"|\S+)/g, '')
      .replace(/\s+-c \d+ \d+/g, '')
      .replace(/\s+/g, ' ');
    out.push(line);
  }
  const kept = withoutIdleTables(out);
  return kept.length === 0 ? '' : kept.join('\n') + '\n';
}

function withoutIdleTables(lines: string[]): string[] {
  const out: string[] = [];
  let table: string[] = [];
  for (const line of lines) {
    if (line.startsWith('*')) table = [line];
    else if (table.length > 0) table.push(line);
    else out.push(line);
    if (line === 'COMMIT' && table.length > 0) {
      const idle = table.slice(1, -1).every((l) => /^:\S+ ACCEPT$/.test(l));
      // Line by line: a spread of a whole table as arguments overflows the stack past ~120,000 lines.
      if (!idle) for (const l of table) out.push(l);
      table = [];
    }
  }
  return [...out, ...table];
}

/** Lines present in one normalised save and not the other, marked `-` (expected) and `+` (kernel). */
export function describeDifferences(expected: string, actual: string, limit = 10): string[] {
  const count = (text: string): Map<string, number> => {
    const m = new Map<string, number>();
    for (const l of text.split('\n')) if (l !== '') m.set(l, (m.get(l) ?? 0) + 1);
    return m;
  };
  const want = count(expected);
  const have = count(actual);
  const diff: string[] = [];
  for (const [line, n] of want) if ((have.get(line) ?? 0) < n) diff.push(`- ${line}`);
  for (const [line, n] of have) if ((want.get(line) ?? 0) < n) diff.push(`+ ${line}`);
  if (diff.length === 0 && expected !== actual) diff.push('~ same rules in a different order');
  return diff.length > limit ? [...diff.slice(0, limit), `... and ${diff.length - limit} more`] : diff;
}
