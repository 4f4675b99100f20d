/**
 * The plan's own ipsets (`ipsets`): named after their content, built under temporary names
 * and swapped in, so no live set is ever empty or half filled. Sets of the running plan that
 * the new one no longer has are destroyed once no rule uses them.
 */
import { GatehouseError } from '../../errors/index.js';
import { definePart } from '../part.js';
import type { KernelRunner } from '../target.js';

export interface IpsetDefinition {
  name: string;
  /** The rest of the `create` line after the name: type and options. */
  spec: string;
  entries: string[];
}

export const IPSET_NAME = /^[A-Za-z0-9_.:-]{1,31}$/;

/** Sets being built carry this prefix until they are swapped in; leftovers are ours to remove. */
const TEMPORARY_SET_PREFIX = 'gh-next-';

/** `create NAME TYPE ...` and `add NAME ENTRY ...` lines (the form `ipset save` writes). */
export function parseIpsets(text: string, file: string, allowAdd = true): IpsetDefinition[] {
  const sets = new Map<string, IpsetDefinition>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const place = { file, line: i + 1 };
    if (line === '' || line.startsWith('#')) return;
    const [verb, name, ...rest] = line.split(/\s+/);
    if ((verb !== 'create' && (verb !== 'add' || !allowAdd)) || name === undefined || rest.length === 0) {
      throw new GatehouseError(`not an ipset line: '${line.slice(0, 60)}'`, {
        place,
        hint: allowAdd ? 'expected `create NAME TYPE [options]` or `add NAME ENTRY`' : 'expected `create NAME TYPE [options]` (run-time sets hold no entries in the plan)',
      });
    }
    if (!IPSET_NAME.test(name)) {
      throw new GatehouseError(`invalid set name '${name}'`, { place, hint: 'at most 31 letters, digits, _ . : -' });
    }
    if (verb === 'create') {
      if (sets.has(name)) throw new GatehouseError(`set ${name} is created twice`, { place, hint: 'create each set once' });
      sets.set(name, { name, spec: rest.join(' '), entries: [] });
    } else {
      const set = sets.get(name);
      if (!set) throw new GatehouseError(`add to set ${name} before its create line`, { place, hint: 'create the set first' });
      set.entries.push(rest.join(' '));
    }
  });
  return [...sets.values()];
}

export async function liveSetNames(target: KernelRunner): Promise<Set<string>> {
  const out = await target.run({ step: 'ipset list -n', command: 'ipset', args: ['list', '-n'] });
  return new Set(out.split('\n').map((s) => s.trim()).filter((s) => s !== ''));
}

/**
 * Builds every set under a temporary name, then swaps it with the live one (or renames it
 * when there is none), in one `ipset restore`: the swaps come after every build line, so a
 * set that fails to build leaves every live set as it was. Sets named in `same` (identical in
 * the plan in force) are left alone when the kernel has them. Returns how many were loaded.
 */
export async function loadIpsets(target: KernelRunner, all: readonly IpsetDefinition[], same: ReadonlySet<string> = new Set()): Promise<number> {
  if (all.length === 0) return 0;
  const live = await liveSetNames(target);
  const sets = all.filter((s) => !(same.has(s.name) && live.has(s.name)));
  if (sets.length === 0) return 0;
  const leftovers = [...live].filter((n) => n.startsWith(TEMPORARY_SET_PREFIX));
  const temporary = sets.map((_, i) => `${TEMPORARY_SET_PREFIX}${i}`);
  const script = [
    ...leftovers.map((n) => `destroy ${n}`),
    ...sets.flatMap((set, i) => [`create ${temporary[i]} ${set.spec}`, ...set.entries.map((e) => `add ${temporary[i]} ${e}`)]),
    ...sets.flatMap((set, i) => (live.has(set.name) ? [`swap ${temporary[i]} ${set.name}`, `destroy ${temporary[i]}`] : [`rename ${temporary[i]} ${set.name}`])),
  ].join('\n');
  try {
    await target.run({ step: 'ipset restore (ipsets)', command: 'ipset', args: ['restore'], input: script + '\n', inputName: 'ipsets, then swaps' });
  } catch (e) {
    await destroySets(target, temporary);
    throw e;
  }
  return sets.length;
}

/** Sets of `next` that `before` defines identically (name, type and entries). */
function identicalSets(before: readonly IpsetDefinition[], next: readonly IpsetDefinition[]): Set<string> {
  const was = new Map(before.map((s) => [s.name, s]));
  return new Set(
    next
      .filter((s) => {
        const b = was.get(s.name);
        return b !== undefined && b.spec === s.spec && b.entries.length === s.entries.length && b.entries.every((e, i) => e === s.entries[i]);
      })
      .map((s) => s.name),
  );
}

/** Destroys sets, one by one; a set a rule still uses cannot go, and leaving it is harmless. */
export async function destroySets(target: KernelRunner, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await target.run({ step: `ipset destroy ${name}`, command: 'ipset', args: ['destroy', name] }).catch(() => undefined);
  }
}

/** Entries as `ipset save` prints them: a host entry of hash:net has no /32 (/128). */
function normaliseEntry(entry: string): string {
  return entry.replace(/\/(32|128)(?=\s|$)/, '');
}

/** `ipset save` text -> set name -> its entries, normalised and sorted. */
export function parseIpsetSave(text: string): Map<string, { spec: string; entries: string[] }> {
  const sets = new Map<string, { spec: string; entries: string[] }>();
  for (const raw of text.split('\n')) {
    const [verb, name, ...rest] = raw.trim().split(/\s+/);
    if (name === undefined) continue;
    if (verb === 'create') sets.set(name, { spec: rest.join(' '), entries: [] });
    else if (verb === 'add') sets.get(name)?.entries.push(normaliseEntry(rest.join(' ')));
  }
  for (const s of sets.values()) s.entries.sort();
  return sets;
}

/** Differences between the sets the plan defines and the kernel's, entries included. */
export function compareSets(expected: readonly IpsetDefinition[], kernel: Map<string, { entries: string[] }>): string[] {
  const diff: string[] = [];
  for (const set of expected) {
    const live = kernel.get(set.name);
    if (!live) {
      diff.push(`- set ${set.name} (missing from the kernel)`);
      continue;
    }
    const want = new Set(set.entries.map(normaliseEntry));
    const have = new Set(live.entries);
    for (const e of want) if (!have.has(e)) diff.push(`- add ${set.name} ${e}`);
    for (const e of have) if (!want.has(e)) diff.push(`+ add ${set.name} ${e}`);
  }
  return diff;
}

export const ipsetsPart = definePart<IpsetDefinition[]>({
  name: 'ipsets',
  describe: 'the plan’s address sets, built aside and swapped in',
  files: ['ipsets'],
  needs: [],
  required: false,
  parse: (files, dir) => parseIpsets(files['ipsets'] ?? '', `${dir}/ipsets`),
  commands: (sets) => (sets.length > 0 ? ['ipset'] : []),
  async apply(target, sets, context) {
    // Only the sets that changed are built and swapped (sets are named after their content).
    const same = context.beforeInForce && context.before ? identicalSets(context.before, sets) : new Set<string>();
    const loaded = await loadIpsets(target, sets, same);
    return loaded === 0 && sets.length > 0 && target.mode.kind !== 'dry-run' ? { unchanged: true } : {};
  },
  async settle(target, sets, before) {
    const keep = new Set(sets.map((s) => s.name));
    await destroySets(target, (before ?? []).map((s) => s.name).filter((n) => !keep.has(n)));
  },
  async rollback(target, { failed, before }) {
    if (before) await loadIpsets(target, before);
    const keep = new Set((before ?? []).map((s) => s.name));
    await destroySets(target, failed.map((s) => s.name).filter((n) => !keep.has(n)));
  },
  async stop() {
    // The stopped rulesets use no plan set; the sets stay so a start is quick, and go with the next plan.
  },
  async status(target, sets, context) {
    if (sets.length === 0 || context.state === 'stopped') return [];
    const save = await target.run({ step: 'ipset save', command: 'ipset', args: ['save'] });
    return compareSets(sets, parseIpsetSave(save));
  },
});
