/**
 * Run-time sets (`runtime-ipsets`): sets whose entries change between events (the REST
 * API's blocklist). The plan declares them so rules may name them; an apply creates a
 * missing one and never empties one, and neither do rollback or stop.
 *
 * A live set made without an option its declaration now has (`counters`: sets an older
 * Gatehouse made) is migrated, never emptied: a new set with the declared options is
 * filled with a copy of the live one's entries (each with the time it has left), swapped
 * in (one atomic kernel step: every lookup meets one set or the other, both full), and
 * the old one is compared once more before it is destroyed, so an entry the API added
 * or deleted during the copy is carried over too.
 */
import { definePart } from '../part.js';
import type { KernelRunner } from '../target.js';
import { liveSetNames, parseIpsets } from './ipsets.js';

/** Options whose absence in a live set makes it a candidate for migration. */
const MIGRATED_FLAGS = ['counters'] as const;
const MIGRATION_PREFIX = 'gh-migrate-';

/** Set name -> header options, from `ipset list -t`. */
async function liveHeaders(target: KernelRunner): Promise<Map<string, string>> {
  const text = await target.run({ step: 'ipset list -t', command: 'ipset', args: ['list', '-t'] });
  const out = new Map<string, string>();
  let name: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Name: ')) name = line.slice(6).trim();
    else if (line.startsWith('Header: ') && name !== undefined) out.set(name, line.slice(8));
  }
  return out;
}

export function missingFlags(spec: string, header: string): string[] {
  const words = new Set(header.split(/\s+/));
  const wanted = new Set(spec.split(/\s+/));
  return MIGRATED_FLAGS.filter((f) => wanted.has(f) && !words.has(f));
}

/** `add <set> <element> [options]` lines of an `ipset save`, by element (the options: timeout left, counters). */
export function savedElements(text: string, set: string): Map<string, string> {
  const out = new Map<string, string>();
  const head = `add ${set} `;
  for (const line of text.split('\n')) {
    if (!line.startsWith(head)) continue;
    const rest = line.slice(head.length);
    const space = rest.indexOf(' ');
    out.set(space === -1 ? rest : rest.slice(0, space), rest);
  }
  return out;
}

/** An element of an `ipset save` added to another set, with its options (the time it has left). */
function elementLine(set: string, saved: string): string {
  return `add -exist ${set} ${saved}`;
}

/** Replaces `name` by a set of `spec` holding the same entries (see the file comment). */
export async function migrateSet(target: KernelRunner, name: string, spec: string): Promise<void> {
  // One at a time, so one temporary name serves (set names are at most 31 characters).
  const temporary = `${MIGRATION_PREFIX}set`;
  const save = () => target.run({ step: `ipset save ${name} (migration)`, command: 'ipset', args: ['save', name] });
  const first = savedElements(await save(), name);
  const script = [`create ${temporary} ${spec}`, ...[...first.values()].map((e) => elementLine(temporary, e)), `swap ${temporary} ${name}`].join('\n') + '\n';
  await target.run({ step: `ipset restore (migrating ${name} to: ${spec})`, command: 'ipset', args: ['restore', '-exist'], input: script }).catch(async (e: unknown) => {
    await target.run({ step: `ipset destroy ${temporary}`, command: 'ipset', args: ['destroy', temporary] }).catch(() => undefined);
    throw e;
  });
  // The old set, now under the temporary name, holds what the API changed during the copy.
  const after = savedElements(await target.run({ step: `ipset save ${temporary} (migration)`, command: 'ipset', args: ['save', temporary] }), temporary);
  const delta: string[] = [];
  for (const [element, saved] of after) if (!first.has(element)) delta.push(elementLine(name, saved));
  for (const element of first.keys()) if (!after.has(element)) delta.push(`del -exist ${name} ${element}`);
  delta.push(`destroy ${temporary}`);
  await target.run({ step: `ipset restore (migrating ${name}: changes during the copy)`, command: 'ipset', args: ['restore', '-exist'], input: delta.join('\n') + '\n' });
}

export interface RuntimeIpsetDefinition {
  name: string;
  spec: string;
}

export const runtimeIpsetsPart = definePart<RuntimeIpsetDefinition[]>({
  name: 'runtime-ipsets',
  describe: 'sets filled at run time (REST API blocklist): created when missing, never emptied',
  files: ['runtime-ipsets'],
  needs: [],
  required: false,
  parse: (files, dir) => parseIpsets(files['runtime-ipsets'] ?? '', `${dir}/runtime-ipsets`, false).map(({ name, spec }) => ({ name, spec })),
  commands: (sets) => (sets.length > 0 ? ['ipset'] : []),
  async apply(target, sets) {
    if (sets.length === 0) return { unchanged: true };
    const headers = target.mode.kind === 'dry-run' ? new Map<string, string>() : await liveHeaders(target);
    const live = new Set(headers.keys());
    // A migration left half done (killed between swap and destroy): the set under the temporary name is the old one.
    for (const name of live) if (name.startsWith(MIGRATION_PREFIX)) await target.run({ step: `ipset destroy ${name}`, command: 'ipset', args: ['destroy', name] }).catch(() => undefined);
    let migrated = 0;
    for (const s of sets) {
      const header = headers.get(s.name);
      if (header !== undefined && missingFlags(s.spec, header).length > 0) {
        await migrateSet(target, s.name, s.spec);
        migrated++;
      }
    }
    const missing = sets.filter((s) => !live.has(s.name));
    if (missing.length === 0) return migrated > 0 ? {} : { unchanged: true };
    // -exist: a set created meanwhile with the same type is fine; one of another type fails here, naming it.
    const script = missing.map((s) => `create ${s.name} ${s.spec}`).join('\n') + '\n';
    await target.run({ step: 'ipset restore -exist (runtime-ipsets)', command: 'ipset', args: ['restore', '-exist'], input: script, inputName: 'runtime-ipsets' });
    return {};
  },
  async rollback() {
    // A created set may already hold entries the API added: it stays, empty or not.
  },
  async stop() {
    // Run-time sets outlive stops: their entries are not the plan's to drop.
  },
  async status(target, sets, context) {
    if (sets.length === 0 || context.state === 'stopped') return [];
    const live = await liveSetNames(target);
    return sets.filter((s) => !live.has(s.name)).map((s) => `- set ${s.name} (run-time set missing from the kernel)`);
  },
});
