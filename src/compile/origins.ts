/**
 * The origin of compiled rules (pure): which Shorewall-style line, and which database record
 * the fragment wrote it from. The record is read from the line's ?COMMENT, where the model's
 * fragments already name it in NethServer's words (src/model: `RULE#17 <description>` for
 * fwrules, `PF#3 ...` for portforward, `service sshd` for configuration, `route ...` for
 * routes, `SNAT eth0:1` for an alias of networks; comment text keeps no `#`, so the files
 * say `RULE 17`). The generated files stay as they are, readable, and a custom fragment
 * that writes no such comment gives rules with a file and line only.
 */
import { join } from 'node:path';
import type { ShorewallConfig, SourcePlace } from '../shorewall/index.js';
import type { RuleOrigin } from './ir.js';

const RECORD_COMMENTS: [RegExp, string][] = [
  [/^RULE[# ](\S+)/, 'fwrules'],
  [/^PF[# ](\S+)/, 'portforward'],
  [/^service (\S+)$/, 'configuration'],
  [/^route (\S+)/, 'routes'],
  [/^SNAT (\S+)$/, 'networks'],
];

/** The database record a ?COMMENT names (`fwrules/17`), if it names one. */
export function recordOfComment(comment: string | undefined): string | undefined {
  if (comment === undefined) return undefined;
  for (const [pattern, db] of RECORD_COMMENTS) {
    const m = pattern.exec(comment);
    if (m) return `${db}/${m[1]}`;
  }
  return undefined;
}

/** `dir` + NUL + file -> the joined path: a config has a few files and tens of thousands of entries. */
const JOINED = new Map<string, string>();
/** The last comment read and the record it names: the rows of one record follow each other, under one comment. */
let lastComment: { text: string | undefined; record: string | undefined } = { text: undefined, record: undefined };

/** The origin of rules compiled from the entry at `place` (with its ?COMMENT, if any). */
export function originOf(config: ShorewallConfig, entry: { place: SourcePlace; comment?: string | undefined }): RuleOrigin {
  if (lastComment.text !== entry.comment) lastComment = { text: entry.comment, record: recordOfComment(entry.comment) };
  const record = lastComment.record;
  const id = `${config.dir}\0${entry.place.file}`;
  let file = JOINED.get(id);
  if (file === undefined) {
    file = join(config.dir, entry.place.file);
    JOINED.set(id, file);
  }
  return record ? { file, line: entry.place.line, record } : { file, line: entry.place.line };
}
