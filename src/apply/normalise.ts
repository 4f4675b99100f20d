/**
 * iptables-save output reduced to what a plan decides: no counters, no comments, no
 * header lines with dates. Two normalised saves are equal exactly when the kernel holds
 * the same chains, policies and rules in the same order.
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
  return out.length === 0 ? '' : out.join('\n') + '\n';
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
