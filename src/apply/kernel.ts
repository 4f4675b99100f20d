/**
 * Loading a plan into the kernel, step by step, through a KernelRunner:
 * ipsets (built under temporary names, then swapped in), one iptables-restore and one
 * ip6tables-restore transaction, then sysctls. Each step's failure names the step.
 */
import { GatehouseError } from '../errors/index.js';
import { normaliseSave } from './normalise.js';
import { type IpsetDefinition, type Plan, checkRestoreText } from './plan.js';
import type { KernelRunner } from './runner.js';

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
}

export async function loadPlan(runner: KernelRunner, plan: Plan, options: LoadOptions = {}): Promise<void> {
  await step('ipsets', () => loadIpsets(runner, plan.ipsets));
  // The two families are independent transactions: run them side by side, but let both
  // finish before reporting, so a rollback never races a restore still in flight.
  const families = await Promise.allSettled([
    step('rules.v4', () =>
      runner.run({ step: 'iptables-restore (rules.v4)', command: 'iptables-restore', args: [], input: plan.files['rules.v4'], inputName: 'rules.v4' }),
    ),
    step('rules.v6', () =>
      runner.run({ step: 'ip6tables-restore (rules.v6)', command: 'ip6tables-restore', args: [], input: plan.files['rules.v6'], inputName: 'rules.v6' }),
    ),
  ]);
  for (const family of families) if (family.status === 'rejected') throw family.reason;
  if (plan.sysctls.length > 0) {
    await step('sysctls', () =>
      runner.run({ step: 'sysctl (sysctl.conf)', command: 'sysctl', args: ['-q', '-w', ...plan.sysctls.map((s) => `${s.key}=${s.value}`)] }),
    );
  }
  for (const name of options.retiredSets ?? []) {
    // A set another ruleset still references cannot go; leaving it is harmless.
    await runner.run({ step: `ipset destroy ${name}`, command: 'ipset', args: ['destroy', name] }).catch(() => undefined);
  }
}

async function step(name: ApplyStep, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (e) {
    throw new StepFailure(name, e);
  }
}

/**
 * Builds every set under a temporary name, then swaps it with the live one (or renames
 * it when there is none), so a live set is never empty or missing while rules use it.
 */
export async function loadIpsets(runner: KernelRunner, sets: readonly IpsetDefinition[]): Promise<void> {
  if (sets.length === 0) return;
  const live = new Set(
    (await runner.run({ step: 'ipset list', command: 'ipset', args: ['list', '-n'] })).split('\n').map((s) => s.trim()).filter((s) => s !== ''),
  );
  const leftovers = [...live].filter((n) => n.startsWith(TEMPORARY_SET_PREFIX));
  const temporary = sets.map((_, i) => `${TEMPORARY_SET_PREFIX}${i}`);
  const build = [
    ...leftovers.map((n) => `destroy ${n}`),
    ...sets.flatMap((set, i) => [`create ${temporary[i]} ${set.spec}`, ...set.entries.map((e) => `add ${temporary[i]} ${e}`)]),
  ].join('\n');
  try {
    await runner.run({ step: 'ipset restore (ipsets)', command: 'ipset', args: ['restore'], input: build + '\n', inputName: 'ipsets' });
  } catch (e) {
    await destroySets(runner, temporary);
    throw e;
  }
  const swap = sets
    .flatMap((set, i) => (live.has(set.name) ? [`swap ${temporary[i]} ${set.name}`, `destroy ${temporary[i]}`] : [`rename ${temporary[i]} ${set.name}`]))
    .join('\n');
  try {
    await runner.run({ step: 'ipset swap', command: 'ipset', args: ['restore'], input: swap + '\n', inputName: 'swap commands' });
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
  const [v4, v6] = await Promise.all([
    runner.run({ step: 'iptables-save', command: 'iptables-save', args: [] }),
    runner.run({ step: 'ip6tables-save', command: 'ip6tables-save', args: [] }),
  ]);
  return { v4: normaliseSave(v4), v6: normaliseSave(v6) };
}

export function describeStepFailure(e: unknown): string {
  if (e instanceof StepFailure) {
    const reason = e.reason instanceof GatehouseError ? e.reason.format() : e.reason instanceof Error ? e.reason.message : String(e.reason);
    return `step ${e.step}: ${reason}`;
  }
  return e instanceof GatehouseError ? e.format() : e instanceof Error ? e.message : String(e);
}
