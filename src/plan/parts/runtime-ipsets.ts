/**
 * Run-time sets (`runtime-ipsets`): sets whose entries change between events (the REST
 * API's blocklist). The plan declares them so rules may name them; an apply creates a
 * missing one and never empties one, and neither do rollback or stop.
 *
 * An apply never writes the content of a live run-time set, not even to migrate one made
 * by an older Gatehouse without an option its declaration now has (`counters`): an API may
 * be changing that set at the same moment, and no copy taken by the apply can see those
 * changes (a DELETE then PUT during a copy and swap lost the drop). Such a set keeps
 * working as it is; the API migrates it at its start, when it rebuilds every set from its
 * database before serving (src/api/kernel.ts loadScript), and so does `gatehouse start`.
 */
import { definePart } from '../part.js';
import { liveSetNames, parseIpsets } from './ipsets.js';

/** The temporary name under which an older Gatehouse migrated a set at apply; one left by a killed apply is the old set, destroyed. */
const MIGRATION_PREFIX = 'gh-migrate-';

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
    const live = target.mode.kind === 'dry-run' ? new Set<string>() : await liveSetNames(target);
    for (const name of live) if (name.startsWith(MIGRATION_PREFIX)) await target.run({ step: `ipset destroy ${name}`, command: 'ipset', args: ['destroy', name] }).catch(() => undefined);
    const missing = sets.filter((s) => !live.has(s.name));
    if (missing.length === 0) return { unchanged: true };
    // -exist: a set created meanwhile (by an API starting) with the same options is fine; one with others fails here, naming it.
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
