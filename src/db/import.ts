/**
 * `db NAME import`: NethServer 7 text loaded record by record, as NethServer itself would
 * read it. Legacy forms are migrated (src/db/legacy.ts), a malformed prop that nothing
 * reads is kept with a warning, and a record that cannot be used is refused with its
 * reason, never blocking the others. Every record's fate is reported. With `replace` the
 * database ends equal to the file (a refused key keeps its previous record, if any).
 */
import { parseImportText, type ImportText } from './esmith.js';
import { isUnusedProp, migrateLegacyRecord, unusedPropReason } from './legacy.js';
import { existsSync } from 'node:fs';
import { type Database, type DbRecord, databaseFile, getRecord, updateDatabase } from './store.js';

export type ImportFateKind = 'imported' | 'migrated' | 'kept' | 'refused' | 'deleted';

export interface ImportFate {
  key: string;
  /** Line of the file the record came from. */
  line?: number;
  fate: ImportFateKind;
  /** How it was migrated, what was kept, or why it was refused. */
  detail: string[];
}

export interface ImportReport {
  db: string;
  source: string;
  format: ImportText['format'];
  fates: ImportFate[];
}

export interface ImportOptions {
  /** Make the database equal to the file: records not in it are deleted. */
  replace?: boolean;
}

type Problem = import('./names.js').Problem;
const describe = (p: Problem): string => `${p.prop ?? 'record'}: ${p.message} (${p.hint})`;

interface Candidate {
  key: string;
  line: number;
  record: DbRecord;
  changes: string[];
  kept: string[];
}

/** Decide each record's fate without writing: the pure part of an import. */
export async function planImport(db: string, text: string, source: string): Promise<{ parsed: ImportText; candidates: Candidate[]; fates: ImportFate[] }> {
  const v = await import('./validate.js');
  const parsed = parseImportText(text, source);
  const fates: ImportFate[] = parsed.refused.map((r) => ({ key: r.key ?? `(line ${r.line})`, line: r.line, fate: 'refused', detail: [r.why] }));
  const candidates: Candidate[] = [];
  for (const entry of parsed.entries) {
    const m = migrateLegacyRecord(db, entry.key, entry.record);
    const problems = v.validateRecord(db, m.key, m.record);
    const kept: string[] = [];
    const blocking: Problem[] = [];
    for (const p of problems) {
      if (p.prop !== undefined && isUnusedProp(db, m.record, p.prop)) kept.push(`${describe(p)}; kept as it is: ${unusedPropReason(db, p.prop)}`);
      else blocking.push(p);
    }
    if (blocking.length > 0) {
      fates.push({ key: entry.key, line: entry.line, fate: 'refused', detail: [...(m.changes.length > 0 ? [`after migrating ${m.changes.join(', ')}`] : []), ...blocking.map(describe)] });
      continue;
    }
    candidates.push({ key: m.key, line: entry.line, record: m.record, changes: m.changes, kept });
  }
  return { parsed, candidates, fates };
}

/** Import e-smith (or `db show`) text into database `db` under `root`; returns every record's fate. */
export async function importDatabase(root: string, db: string, text: string, source: string, options: ImportOptions = {}): Promise<ImportReport> {
  const v = await import('./validate.js');
  const { parsed, candidates, fates } = await planImport(db, text, source);
  // Without a file the database reads as its shipped defaults; those were never stored, so never "deleted".
  const stored = existsSync(databaseFile(root, db));
  await updateDatabase(root, db, (data) => {
    const before: Database = structuredClone(data);
    let accepted = candidates;
    // Cross-record checks (zone name clashes, ...) may refuse some; the rest are tried again without them.
    for (let round = 0; round <= candidates.length; round++) {
      const next: Database = options.replace ? {} : structuredClone(before);
      if (options.replace) {
        // A refused key keeps its previous record: a bad line never deletes good data.
        for (const f of fates) if (f.fate === 'refused' && getRecord(before, f.key)) next[f.key] = before[f.key]!;
      }
      for (const c of accepted) next[c.key] = { type: c.record.type, props: { ...c.record.props } };
      const problems = v.crossRecordProblems(db, next, accepted.map((c) => c.key));
      const bad = new Set(problems.map((p) => p.key));
      if (bad.size === 0 || !accepted.some((c) => bad.has(c.key))) {
        for (const k of Object.keys(data)) delete data[k];
        Object.assign(data, next);
        break;
      }
      for (const c of accepted.filter((c) => bad.has(c.key))) {
        fates.push({ key: c.key, line: c.line, fate: 'refused', detail: problems.filter((p) => p.key === c.key).map(describe) });
      }
      accepted = accepted.filter((c) => !bad.has(c.key));
    }
    for (const c of accepted) {
      const fate: ImportFateKind = c.kept.length > 0 ? 'kept' : c.changes.length > 0 ? 'migrated' : 'imported';
      fates.push({ key: c.key, line: c.line, fate, detail: [...c.changes, ...c.kept] });
    }
    if (options.replace && stored) {
      for (const k of Object.keys(before).sort()) {
        if (!Object.hasOwn(data, k)) fates.push({ key: k, fate: 'deleted', detail: ['not in the file (--replace)'] });
      }
    }
  });
  fates.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { db, source, format: parsed.format, fates };
}

const LABEL: Record<ImportFateKind, string> = {
  imported: 'imported',
  migrated: 'migrated',
  kept: 'kept with a warning',
  refused: 'refused',
  deleted: 'deleted',
};

/** One line per record, then a count: what `db NAME import` prints. */
export function formatImportReport(report: ImportReport): string {
  let out = '';
  for (const f of report.fates) {
    const where = f.line !== undefined ? ` (${report.source}:${f.line})` : '';
    out += `${report.db}/${f.key}${where}: ${LABEL[f.fate]}${f.detail.length > 0 ? `: ${f.detail.join('; ')}` : ''}\n`;
  }
  const count = (k: ImportFateKind): number => report.fates.filter((f) => f.fate === k).length;
  const parts = (['imported', 'migrated', 'kept', 'refused', 'deleted'] as const).filter((k) => count(k) > 0).map((k) => `${count(k)} ${LABEL[k]}`);
  out += `${report.db}: ${report.format === 'show' ? "'db show' text" : 'e-smith file'} ${report.source}: ${parts.join(', ') || 'nothing to import'}\n`;
  return out;
}
