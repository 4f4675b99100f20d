/**
 * Applying, rolling back and stopping plans. The kernel is changed only through a
 * KernelRunner; the plan directories change only under the plan lock. A failed apply
 * puts the previous plan back in the kernel (or, with none, the stopped ruleset of the
 * new plan) and puts the directories back, so the firewall is never left open.
 */
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import {
  type Family,
  type KernelSnapshot,
  FAMILIES,
  STOP_COMMANDS,
  commandsForPlan,
  describeStepFailure,
  loadPlan,
  loadStopped,
  snapshotKernel,
} from './kernel.js';
import { type ApplyMode, formatApplyMode, parseApplyMode } from './mode.js';
import { describeDifferences } from './normalise.js';
import { PLAN_FILES, type Plan, parseIpsets, readPlan } from './plan.js';
import { type PlanState, referenceSnapshot } from './reference.js';
import { type KernelRunner, createKernelRunner } from './runner.js';
import {
  type AppliedRecord,
  type StoppedRecord,
  appliedRecord,
  clearSnapshot,
  exists,
  moveDir,
  planPaths,
  readJson,
  readSnapshot,
  withPlanLock,
  writeAppliedRecords,
  writeJson,
  writePlanFiles,
  writeSnapshot,
} from './store.js';

export interface KernelOptions {
  mode: ApplyMode;
  /** Environment for kernel commands (its PATH decides which binaries run). */
  env?: NodeJS.ProcessEnv;
  /** Where dry-run prints its commands; default stdout. */
  print?: (line: string) => void;
}

export interface ApplyOptions extends KernelOptions {
  /** The plan to apply; default $ROOT/var/lib/gatehouse/plan/next. */
  planDir?: string;
}

export interface ApplyOutcome {
  mode: ApplyMode;
  source: string;
  /** Absent in dry-run, where nothing is recorded. */
  applied?: AppliedRecord;
  /** Whether a running plan was kept as `previous`. */
  keptPrevious: boolean;
  /** Rulesets not reloaded: byte-identical to the running plan's, and the kernel still held them. */
  unchanged: ('rules.v4' | 'rules.v6')[];
}

/** One line for people: what was applied, where, and what was left as it was. */
export function describeApplyOutcome(outcome: ApplyOutcome): string {
  if (outcome.applied === undefined) return `dry-run: printed the commands for ${outcome.source}; nothing applied`;
  const kept = outcome.keptPrevious ? ' (the plan before is kept for rollback)' : '';
  const same =
    outcome.unchanged.length === 0 ? '' : `; ${outcome.unchanged.join(' and ')} unchanged and still in the kernel, so not reloaded`;
  return `applied ${outcome.source} in ${formatApplyMode(outcome.mode)}${kept}${same}`;
}

function runnerFor(options: KernelOptions): KernelRunner {
  return createKernelRunner(options.mode, {
    ...(options.env ? { env: options.env } : {}),
    ...(options.print ? { print: options.print } : {}),
  });
}

async function readPlanIfPresent(dir: string): Promise<Plan | undefined> {
  if (!(await exists(dir))) return undefined;
  try {
    return await readPlan(dir);
  } catch {
    return undefined;
  }
}

/** What an apply needs to know about the plan in force; the whole plan is read only to roll back. */
interface RunningPlanRecord {
  applied?: AppliedRecord;
  stopped: boolean;
  snapshot: Partial<KernelSnapshot>;
  ipsetNames: string[];
}

async function readRunningRecord(dir: string): Promise<RunningPlanRecord | undefined> {
  if (!(await exists(dir))) return undefined;
  const [applied, stopped, snapshot, ipsetNames] = await Promise.all([
    readJson<AppliedRecord>(join(dir, 'applied.json')),
    exists(join(dir, 'stopped.json')),
    readSnapshot(dir),
    readFile(join(dir, 'ipsets'), 'utf8').then(
      (text) => parseIpsets(text, join(dir, 'ipsets')).map((s) => s.name),
      () => [],
    ),
  ]);
  return { ...(applied ? { applied } : {}), stopped, snapshot, ipsetNames };
}

/**
 * Per family, what the kernel shows for the running plan's ruleset when it is byte-identical
 * to `plan`'s (as far as it is known); loadPlan checks the kernel shows it now before
 * skipping the restore.
 */
function reusableSnapshots(running: RunningPlanRecord | undefined, plan: Plan, mode: ApplyMode): Partial<KernelSnapshot> {
  const reusable: Partial<KernelSnapshot> = {};
  if (!running?.applied || running.stopped || running.applied.mode !== formatApplyMode(mode)) return reusable;
  for (const family of FAMILIES) {
    const known = running.snapshot[family];
    if (known !== undefined && running.applied.sha256[`rules.${family}`] === plan.digests[`rules.${family}`]) reusable[family] = known;
  }
  return reusable;
}

function unchangedFiles(families: readonly Family[]): ('rules.v4' | 'rules.v6')[] {
  return families.map((f) => `rules.${f}` as const);
}

export async function applyPlan(root: string, options: ApplyOptions): Promise<ApplyOutcome> {
  const paths = planPaths(root);
  const source = options.planDir ?? paths.next;
  const plan = await readPlan(source);
  const runner = runnerFor(options);
  await runner.preflight(commandsForPlan(plan));

  if (options.mode.kind === 'dry-run') {
    (options.print ?? ((l: string) => void process.stdout.write(l + '\n')))(`# dry-run: plan ${source} would be applied with:`);
    await loadPlan(runner, plan);
    return { mode: options.mode, source, keptPrevious: false, unchanged: [] };
  }

  return withPlanLock(root, async () => {
    await rm(paths.staging, { recursive: true, force: true });
    const running = await readRunningRecord(paths.current);
    const keep = new Set(plan.ipsets.map((s) => s.name));
    const retiredSets = (running?.ipsetNames ?? []).filter((n) => !keep.has(n));
    const reusable = reusableSnapshots(running, plan, options.mode);

    await moveDir(paths.previous, paths.asidePrevious);
    await moveDir(paths.current, paths.previous);
    // The disk work overlaps the kernel's; the staged plan becomes current only once both succeeded.
    const staged = writePlanFiles(paths.staging, plan);
    staged.catch(() => undefined);
    try {
      const loaded = await loadPlan(runner, plan, { retiredSets, reusable });
      await staged;
      const applied = appliedRecord(plan, options.mode, source);
      await writeAppliedRecords(paths.staging, applied, loaded.snapshot);
      await rename(paths.staging, paths.current);
      await rm(paths.asidePrevious, { recursive: true, force: true });
      return { mode: options.mode, source, applied, keptPrevious: running !== undefined, unchanged: unchangedFiles(loaded.unchanged) };
    } catch (failure) {
      await staged.catch(() => undefined);
      await rm(paths.staging, { recursive: true, force: true });
      const previous = running ? await readPlanIfPresent(paths.previous) : undefined;
      const restored = await restoreAfterFailure(runner, previous, plan);
      await moveDir(paths.previous, paths.current);
      await moveDir(paths.asidePrevious, paths.previous);
      if (restored.previous) {
        // The kernel holds the previous plan running now, whatever state it was left in.
        await clearSnapshot(paths.current).catch(() => undefined);
        await rm(join(paths.current, 'stopped.json'), { force: true });
      }
      throw new GatehouseError(`apply of ${source} failed at ${describeStepFailure(failure)}; ${restored.outcome}`, {
        hint: 'fix the plan and apply again; `gatehouse status` shows what is running',
        cause: failure,
      });
    }
  });
}

interface Restoration {
  outcome: string;
  /** Whether the previous plan is back in the kernel. */
  previous: boolean;
}

async function restoreAfterFailure(runner: KernelRunner, running: Plan | undefined, failed: Plan): Promise<Restoration> {
  let why = 'there was no previous plan';
  if (running) {
    try {
      await loadPlan(runner, running);
      return { outcome: 'the previous plan is back in force', previous: true };
    } catch (e) {
      why = `restoring the previous plan failed too (${describeStepFailure(e)})`;
    }
  }
  try {
    await loadStopped(runner, failed);
    return { outcome: `${why}, so the stopped ruleset is loaded (closed, not open)`, previous: false };
  } catch (e) {
    return { outcome: `${why}, and loading the stopped ruleset failed too (${describeStepFailure(e)}): check the kernel now`, previous: false };
  }
}

export interface RollbackOutcome {
  /** `previous`: the plan before is running again; `stopped`: there was none, the stopped ruleset is loaded. */
  restored: 'previous' | 'stopped';
  message: string;
}

/**
 * Puts the previous plan back (used when an apply is not confirmed in time). The plan
 * rolled back from is kept as `rejected`. With no previous plan, loads the stopped ruleset.
 */
export async function rollbackPlan(root: string, options: KernelOptions): Promise<RollbackOutcome> {
  const paths = planPaths(root);
  const runner = runnerFor(options);
  if (options.mode.kind === 'dry-run') throw new GatehouseError('nothing to roll back in dry-run mode', { hint: 'choose --apply netns:<name> or host' });
  return withPlanLock(root, async () => {
    if (!(await exists(paths.current))) {
      throw new GatehouseError('no plan is applied, so there is nothing to roll back', { hint: 'apply a plan first' });
    }
    const current = await readPlan(paths.current);
    const previous = await readPlanIfPresent(paths.previous);
    if (previous) {
      await runner.preflight(commandsForPlan(previous));
      const keep = new Set(previous.ipsets.map((s) => s.name));
      const { snapshot } = await loadPlan(runner, previous, {
        retiredSets: current.ipsets.map((s) => s.name).filter((n) => !keep.has(n)),
        reusable: reusableSnapshots(await readRunningRecord(paths.current), previous, options.mode),
      });
      await moveDir(paths.current, paths.rejected);
      await moveDir(paths.previous, paths.current);
      const before = await readJson<AppliedRecord>(join(paths.current, 'applied.json'));
      await writeJson(join(paths.current, 'applied.json'), {
        ...appliedRecord(previous, options.mode, before?.source ?? paths.previous),
      });
      await clearSnapshot(paths.current);
      await writeSnapshot(paths.current, snapshot);
      await rm(join(paths.current, 'stopped.json'), { force: true });
      return { restored: 'previous', message: 'the previous plan is back in force; the unconfirmed one is kept in plan/rejected' };
    }
    await runner.preflight(STOP_COMMANDS);
    await loadStopped(runner, current);
    await clearSnapshot(paths.current);
    await writeJson(join(paths.current, 'stopped.json'), stoppedRecord(options.mode));
    return { restored: 'stopped', message: 'there was no previous plan, so the stopped ruleset is loaded (closed, not open)' };
  });
}

function stoppedRecord(mode: ApplyMode): StoppedRecord {
  return { stoppedAt: new Date().toISOString(), mode: formatApplyMode(mode) };
}

/** Replaces the running ruleset by the stopped ruleset of the current plan (stoppedrules). */
export async function stopFirewall(root: string, options: KernelOptions): Promise<void> {
  const paths = planPaths(root);
  if (!(await exists(paths.current))) {
    throw new GatehouseError(`no plan has been applied under ${root}, so there is no stopped ruleset to load`, {
      hint: 'apply a plan first (gatehouse apply)',
    });
  }
  const plan = await readPlan(paths.current);
  const runner = runnerFor(options);
  await runner.preflight(STOP_COMMANDS);
  if (options.mode.kind === 'dry-run') {
    await loadStopped(runner, plan);
    return;
  }
  await withPlanLock(root, async () => {
    await loadStopped(runner, plan);
    await clearSnapshot(paths.current);
    await writeJson(join(paths.current, 'stopped.json'), stoppedRecord(options.mode));
  });
}

export interface FirewallStatus {
  state: 'none' | 'running' | 'stopped';
  applied?: AppliedRecord;
  stopped?: StoppedRecord;
  /** The mode the kernel was read in. */
  mode?: string;
  kernel: 'matches' | 'differs' | 'unchecked';
  /** Why the kernel was not checked, when it was not. */
  uncheckedReason?: string;
  differences: { v4: string[]; v6: string[] };
}

/**
 * Which plan runs, since when, and whether the kernel still holds what was loaded.
 * With no mode given, the kernel is read where the plan was applied.
 */
export async function firewallStatus(root: string, options: { mode?: ApplyMode; env?: NodeJS.ProcessEnv } = {}): Promise<FirewallStatus> {
  const paths = planPaths(root);
  const none = { v4: [], v6: [] };
  const applied = await readJson<AppliedRecord>(join(paths.current, 'applied.json'));
  if (!applied) return { state: 'none', kernel: 'unchecked', uncheckedReason: 'no plan has been applied', differences: none };
  const stopped = await readJson<StoppedRecord>(join(paths.current, 'stopped.json'));
  const base = { state: stopped ? ('stopped' as const) : ('running' as const), applied, ...(stopped ? { stopped } : {}) };
  const mode = options.mode ?? parseApplyMode(stopped?.mode ?? applied.mode);
  if (mode.kind === 'dry-run') return { ...base, kernel: 'unchecked', uncheckedReason: 'dry-run mode reads no kernel', differences: none };
  const runner = createKernelRunner(mode, options.env ? { env: options.env } : {});
  await runner.preflight(['iptables-save', 'ip6tables-save']);
  const [expected, actual] = await Promise.all([expectedSnapshot(root, stopped ? 'stopped' : 'running', options.env), snapshotKernel(runner)]);
  const differences = { v4: describeDifferences(expected.v4, actual.v4), v6: describeDifferences(expected.v6, actual.v6) };
  const same = expected.v4 === actual.v4 && expected.v6 === actual.v6;
  return { ...base, mode: formatApplyMode(mode), kernel: same ? 'matches' : 'differs', differences };
}

/**
 * What the kernel should show for the current plan: kept beside it when known, else
 * worked out in a scratch namespace and kept, unless the plan changed in the meantime.
 */
async function expectedSnapshot(root: string, state: PlanState, env?: NodeJS.ProcessEnv): Promise<KernelSnapshot> {
  const paths = planPaths(root);
  const plan = await readPlan(paths.current);
  const known = await readSnapshot(paths.current);
  const missing = FAMILIES.filter((f) => known[f] === undefined);
  if (missing.length === 0) return known as KernelSnapshot;
  const worked = await referenceSnapshot(plan, state, missing, env);
  await withPlanLock(root, async () => {
    const applied = await readJson<AppliedRecord>(join(paths.current, 'applied.json'));
    const nowStopped = await exists(join(paths.current, 'stopped.json'));
    const samePlan = applied !== undefined && PLAN_FILES.every((f) => applied.sha256[f] === plan.digests[f]);
    if (samePlan && nowStopped === (state === 'stopped')) await writeSnapshot(paths.current, worked);
  });
  return { ...known, ...worked } as KernelSnapshot;
}

export function formatStatus(status: FirewallStatus): string {
  if (status.state === 'none') return 'no plan applied\n';
  const lines: string[] = [];
  const a = status.applied!;
  lines.push(`state: ${status.state}`);
  lines.push(`plan: ${a.source} (rules.v4 sha256 ${a.sha256['rules.v4'].slice(0, 12)})`);
  lines.push(`applied: ${a.appliedAt} in ${a.mode}`);
  if (status.stopped) lines.push(`stopped: ${status.stopped.stoppedAt} in ${status.stopped.mode}`);
  if (status.kernel === 'unchecked') {
    lines.push(`kernel: not checked (${status.uncheckedReason ?? 'unknown reason'})`);
  } else if (status.kernel === 'matches') {
    lines.push(`kernel: matches what was loaded (${status.mode})`);
  } else {
    lines.push(`kernel: DIFFERS from what was loaded (${status.mode})`);
    for (const [family, diff] of Object.entries(status.differences)) {
      for (const d of diff) lines.push(`  ${family} ${d}`);
    }
  }
  return lines.join('\n') + '\n';
}
