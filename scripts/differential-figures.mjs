#!/usr/bin/env node
// Sums the figures a differential run appended to GATEHOUSE_DIFF_REPORT (one JSON object per
// comparison): `node scripts/differential-figures.mjs report.jsonl [name-prefix...]`.
import { readFileSync } from 'node:fs';

const [file, ...prefixes] = process.argv.slice(2);
if (!file) {
  console.error('usage: differential-figures.mjs REPORT.jsonl [name-prefix...]');
  process.exit(2);
}
const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const keys = ['probes', 'agreed', 'falseAccepts', 'falseDrops', 'rejectedNotDropped', 'droppedNotRejected'];
const print = (name, r) => console.log([name.padEnd(24), ...keys.map((k) => String(r[k]).padStart(k.length))].join('  '));
console.log(['comparison'.padEnd(24), ...keys].join('  '));
const groups = prefixes.length > 0 ? prefixes : [''];
for (const prefix of groups) {
  const chosen = rows.filter((r) => r.name.startsWith(prefix));
  for (const r of chosen) print(r.name, r);
  const total = Object.fromEntries(keys.map((k) => [k, chosen.reduce((s, r) => s + r[k], 0)]));
  print(`total ${prefix || 'all'} (${chosen.length})`, total);
}
