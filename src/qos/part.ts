/**
 * Traffic shaping as a part of the plan: `fireqos.conf`, applied with the real FireQOS in
 * the target after the filters (the class marks come from their mangle tables). What
 * FireQOS reports creating is kept as the part's record, so `gatehouse status` can check
 * every class and its rates in the kernel. A failed start puts the previous configuration
 * back (FireQOS leaves the interfaces it had finished shaped), or clears shaping when
 * there was none; `gatehouse stop` clears shaping.
 */
import { GatehouseError } from '../errors/index.js';
import { definePart } from '../plan/part.js';
import { type AppliedClass, compareClasses, readDirectives, readLiveClasses, shapesAnything, startFireqos, stopFireqos, type QosRunner } from './fireqos.js';
import { LEAF_QDISCS } from './model.js';

export interface QosContent {
  conf: string;
  shapes: boolean;
}

/** What an apply keeps: FireQOS's classes, and the warnings it gave. */
export interface QosRecord {
  classes: AppliedClass[];
  warnings: string[];
  env: Record<string, string>;
}

export const QOS_FILE = 'fireqos.conf';

export function parseQosConf(text: string, file: string): QosContent {
  const directives = readDirectives(text);
  if (!(LEAF_QDISCS as readonly string[]).includes(directives.leafQdisc)) {
    const line = text.split('\n').findIndex((l) => l.startsWith('#@gatehouse leaf-qdisc')) + 1;
    throw new GatehouseError(`leaf qdisc '${directives.leafQdisc}' is not one FireQOS can use`, { place: { file, line }, hint: LEAF_QDISCS.join(', ') });
  }
  return { conf: text, shapes: shapesAnything(text) };
}

function readRecord(text: string | undefined): QosRecord | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as QosRecord;
  } catch {
    return undefined;
  }
}

/** Warnings go to stderr as they are found: the event prints them, nothing is hidden. */
function tell(warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`warning: traffic shaping: ${w}\n`);
}

async function start(target: QosRunner, content: QosContent): Promise<QosRecord> {
  const result = await startFireqos(target, content.conf);
  tell(result.warnings);
  return { classes: result.classes, warnings: result.warnings, env: result.env };
}

export const qosPart = definePart<QosContent>({
  name: 'qos',
  describe: 'traffic shaping (fireqos.conf), applied with FireQOS after the filters that mark the classes',
  files: [QOS_FILE],
  needs: ['filter.v4', 'filter.v6'],
  required: false,
  parse: (files, dir) => parseQosConf(files[QOS_FILE] ?? '', `${dir}/${QOS_FILE}`),
  commands: (content) => (content.shapes ? ['fireqos', 'tc', 'sh', 'env'] : ['fireqos', 'sh', 'env']),
  async apply(target, content, context) {
    if (target.mode.kind === 'dry-run') {
      await start(target, content);
      return {};
    }
    const before = readRecord(context.beforeRecord);
    if (context.sameAsBefore && before && content.shapes) {
      // Same configuration: keep it when the kernel still holds every class FireQOS made.
      const live = await readLiveClasses(target, [...new Set(before.classes.map((c) => c.device))]);
      if (compareClasses(before.classes, live).length === 0) return { unchanged: true, record: JSON.stringify(before) };
    }
    if (context.sameAsBefore && !content.shapes && before && before.classes.length === 0) return { unchanged: true, record: JSON.stringify(before) };
    return { record: JSON.stringify(await start(target, content)) };
  },
  async rollback(target, { before }) {
    if (before && before.shapes) await start(target, before);
    else await stopFireqos(target);
  },
  async stop(target) {
    await stopFireqos(target);
  },
  async status(target, content, context) {
    const record = readRecord(context.record);
    if (context.state === 'stopped' || !content.shapes) {
      // Nothing may be shaped: any class left on a device FireQOS had used is a difference.
      const devices = [...new Set((record?.classes ?? []).map((c) => c.device).concat(readDirectives(content.conf).devices))];
      const live = await readLiveClasses(target, devices);
      return Object.entries(live).flatMap(([dev, classes]) => (classes.length > 0 ? [`- ${dev}: no traffic classes`, `+ ${dev}: ${classes.length} HTB classes`] : []));
    }
    if (!record) return ['- traffic classes as FireQOS made them', '+ unknown: the plan was applied without a record of them (apply again)'];
    const live = await readLiveClasses(target, [...new Set(record.classes.map((c) => c.device))]);
    return compareClasses(record.classes, live);
  },
});
