/**
 * Loading a plan into the kernel, step by step, through a KernelRunner:
 * ipsets (built under temporary names, then swapped in), one iptables-restore and one
 * ip6tables-restore transaction, then sysctls. Each step's failure names the step.
 */
import { GatehouseError } from '../errors/index.js';
import { normaliseSave } from './normalise.js';
import { type IpsetDefinition, type Plan, checkRestoreText } from './plan.js';
import type { KernelCommand, KernelRunner } from './runner.js';

/** Commands a full plan load needs, checked before anything changes. */
export function commandsForPlan(plan: Plan): string[] {
  const commands = ['iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save'];
  if (plan.ipsets.length > 0) commands.push('ipset');
  if (plan.sysctls.length > 0) commands.push('sysctl');
  return commands;
}

export const STOP_COMMANDS = ['iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save'];

/** Sets being built carry this prefix until they are swapped in; leftovers are ours to remove. */
const TEMPORARY_SET_PREFIX = 'gh-next-';

export type ApplyStep = 'ipsets' | 'rules.v4' | 'rules.v6' | 'sysctls';

export type Family = 'v4' | 'v6';
export const FAMILIES: readonly Family[] = ['v4', 'v6'];

/** A failure during a step, keeping the step for the caller's message. */
export class StepFailure extends Error {
  constructor(
    readonly step: ApplyStep,
    readonly reason: unknown,
  ) {
    super(`${step}: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
}

export interface LoadOptions {
  /** Sets the running plan owns that the new plan no longer has: destroyed once unused. */
  retiredSets?: string[];
  /**
   * Per family, the normalised save the kernel shows for a ruleset byte-identical to the
   * plan's. A family whose kernel still shows exactly that is not reloaded.
   */
  reusable?: Partial<KernelSnapshot>;
}

export interface LoadResult {
  /** Families left as they were: the same ruleset was still in force. */
  unchanged: Family[];
  /**
   * What the kernel shows for the families left as they were, and for those whose read-back
   * finished while the load was still busy anyway (never waited for).
   */
  snapshot: Partial<KernelSnapshot>;
}

function restoreCommand(plan: Plan, family: Family): KernelCommand {
  const command = family === 'v4' ? 'iptables-restore' : 'ip6tables-restore';
  const name = `rules.${family}` as const;
  return { step: `${command} (${name})`, command, args: [], input: plan.files[name], inputName: name };
}

export function saveCommand(family: Family): KernelCommand {
  const command = family === 'v4' ? 'iptables-save' : 'ip6tables-save';
  return { step: command, command, args: [] };
}

/** The kernel's save of `family` when it equals `expected`; undefined otherwise (or when unreadable). */
async function stillInForce(runner: KernelRunner, family: Family, expected: string | undefined): Promise<string | undefined> {
  if (expected === undefined) return undefined;
  const now = await runner.run(saveCommand(family)).then(normaliseSave, () => undefined);
  return now === expected ? now : undefined;
}

/**
 * Whether the kernel already has every sysctl of the plan. Only reads, so it runs beside
 * the restores; when true, the write after them is skipped (it would change nothing).
 */
async function sysctlsInForce(runner: KernelRunner, plan: Plan): Promise<boolean> {
  if (plan.sysctls.length === 0 || runner.mode.kind === 'dry-run') return false;
  const read = await runner
    .run({ step: 'sysctl -n (current values)', command: 'sysctl', args: ['-n', ...plan.sysctls.map((s) => s.key)] })
    .catch(() => undefined);
  const values = read?.trim().split('\n').map((v) => v.trim());
  return values !== undefined && values.length === plan.sysctls.length && plan.sysctls.every((s, i) => values[i] === s.value);
}

export async function loadPlan(runner: KernelRunner, plan: Plan, options: LoadOptions = {}): Promise<LoadResult> {
  // Checking whether a family may stay only reads, so it runs beside the ipset step.
  const kept = FAMILIES.map((family) => stillInForce(runner, family, options.reusable?.[family]));
  const sysctlsSet = sysctlsInForce(runner, plan);
  try {
    await step('ipsets', () => loadIpsets(runner, plan.ipsets));
  } catch (e) {
    await Promise.all([...kept, sysctlsSet]);
    throw e;
  }
  // The two families are independent transactions: run them side by side, but let both
  // finish before reporting, so a rollback never races a restore still in flight. A family
  // restored early is read back while the other still loads: free, so it is kept if done in time.
  const readBack = new AbortController();
  const families = await Promise.allSettled(
    FAMILIES.map(async (family, i) => {
      const save = await kept[i]!;
      if (save !== undefined) return { kept: true, save: Promise.resolve<string | undefined>(save) };
      await step(`rules.${family}`, () => runner.run(restoreCommand(plan, family)));
      const late = runner.mode.kind === 'dry-run' ? Promise.resolve(undefined) : runner.run({ ...saveCommand(family), signal: readBack.signal }).then(normaliseSave, () => undefined);
      return { kept: false, save: late };
    }),
  );
  const alreadySet = await sysctlsSet;
  const loaded = families.map((f) => {
    if (f.status === 'rejected') {
      readBack.abort();
      throw f.reason;
    }
    return f.value;
  });
  try {
    if (plan.sysctls.length > 0 && !alreadySet) {
      await step('sysctls', () =>
        runner.run({ step: 'sysctl (sysctl.conf)', command: 'sysctl', args: ['-q', '-w', ...plan.sysctls.map((s) => `${s.key}=${s.value}`)] }),
      );
    }
    for (const name of options.retiredSets ?? []) {
      // A set another ruleset still references cannot go; leaving it is harmless.
      await runner.run({ step: `ipset destroy ${name}`, command: 'ipset', args: ['destroy', name] }).catch(() => undefined);
    }
  } finally {
    readBack.abort();
  }
  const saves = await Promise.all(loaded.map((l) => l.save));
  const snapshot: Partial<KernelSnapshot> = {};
  FAMILIES.forEach((family, i) => {
    if (saves[i] !== undefined) snapshot[family] = saves[i];
  });
  return { unchanged: FAMILIES.filter((_, i) => loaded[i]!.kept), snapshot };
}

async function step<T>(name: ApplyStep, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (e) {
    throw new StepFailure(name, e);
  }
}

/**
 * Builds every set under a temporary name, then swaps it with the live one (or renames
 * it when there is none), in one `ipset restore`: the swaps come after every build
 * line, so a set that fails to build leaves every live set as it was.
 */
export async function loadIpsets(runner: KernelRunner, sets: readonly IpsetDefinition[]): Promise<void> {
  if (sets.length === 0) return;
  const live = new Set(
    (await runner.run({ step: 'ipset list', command: 'ipset', args: ['list', '-n'] })).split('\n').map((s) => s.trim()).filter((s) => s !== ''),
  );
  const leftovers = [...live].filter((n) => n.startsWith(TEMPORARY_SET_PREFIX));
  const temporary = sets.map((_, i) => `${TEMPORARY_SET_PREFIX}${i}`);
  const script = [
    ...leftovers.map((n) => `destroy ${n}`),
    ...sets.flatMap((set, i) => [`create ${temporary[i]} ${set.spec}`, ...set.entries.map((e) => `add ${temporary[i]} ${e}`)]),
    ...sets.flatMap((set, i) => (live.has(set.name) ? [`swap ${temporary[i]} ${set.name}`, `destroy ${temporary[i]}`] : [`rename ${temporary[i]} ${set.name}`])),
  ].join('\n');
  try {
    await runner.run({ step: 'ipset restore (ipsets)', command: 'ipset', args: ['restore'], input: script + '\n', inputName: 'ipsets, then swaps' });
  } catch (e) {
    await destroySets(runner, temporary);
    throw e;
  }
}

async function destroySets(runner: KernelRunner, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await runner.run({ step: `ipset destroy ${name}`, command: 'ipset', args: ['destroy', name] }).catch(() => undefined);
  }
}

const BUILTIN_CHAINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/**
 * The stopped ruleset plus empty nat, mangle and raw tables where it does not declare
 * them, so no port forward or mark of the running plan survives a stop.
 */
export function stoppedRestoreText(stopped: string, file: string): string {
  const declared = checkRestoreText(stopped, file, true);
  const extra = ['nat', 'mangle', 'raw']
    .filter((t) => !declared.includes(t))
    .map((t) => [`*${t}`, ...BUILTIN_CHAINS[t]!.map((c) => `:${c} ACCEPT [0:0]`), 'COMMIT'].join('\n'));
  return [stopped.replace(/\n*$/, ''), ...extra].join('\n') + '\n';
}

export async function loadStopped(runner: KernelRunner, plan: Plan): Promise<void> {
  for (const family of ['v4', 'v6'] as const) {
    const name = `stopped.${family}` as const;
    const command = family === 'v4' ? 'iptables-restore' : 'ip6tables-restore';
    await runner.run({ step: `${command} (${name})`, command, args: [], input: stoppedRestoreText(plan.files[name], `${plan.dir}/${name}`), inputName: name });
  }
}

export interface KernelSnapshot {
  v4: string;
  v6: string;
}

/** The normalised iptables-save and ip6tables-save of the kernel now. */
export async function snapshotKernel(runner: KernelRunner): Promise<KernelSnapshot> {
  const [v4, v6] = await Promise.all(FAMILIES.map((family) => runner.run(saveCommand(family))));
  return { v4: normaliseSave(v4!), v6: normaliseSave(v6!) };
}

export function describeStepFailure(e: unknown): string {
  if (e instanceof StepFailure) {
    const reason = e.reason instanceof GatehouseError ? e.reason.format() : e.reason instanceof Error ? e.reason.message : String(e.reason);
    return `step ${e.step}: ${reason}`;
  }
  return e instanceof GatehouseError ? e.format() : e instanceof Error ? e.message : String(e);
}
