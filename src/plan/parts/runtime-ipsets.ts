/**
 * Run-time sets (`runtime-ipsets`): sets whose entries change between events (the REST
 * API's blocklist). The plan declares them so rules may name them; an apply creates a
 * missing one and never empties, swaps or destroys one, and neither do rollback or stop.
 */
import { definePart } from '../part.js';
import { liveSetNames, parseIpsets } from './ipsets.js';

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
    const missing = sets.filter((s) => !live.has(s.name));
    if (missing.length === 0) return { unchanged: true };
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
