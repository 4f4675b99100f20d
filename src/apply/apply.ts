/**
 * Applying, rolling back and stopping plans. The kernel is changed only through a
 * KernelRunner, part by part (src/apply/parts.ts); the plan directories change only through
 * the plan store, under its lock. A failed apply puts the previous plan back in the kernel
 * (or, with none, the stopped ruleset of the new plan) and puts the directories back, so the
 * firewall is never left open.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import {
  type AppliedRecord,
  type LoadedPlan,
  type StoppedRecord,
  appliedRecord,
  clearRecords,
  exists,
  moveDir,
  planPaths,
  readJson,
  readPlan,
  readRecords,
  withPlanLock,
  writeAppliedRecords,
  writeJson,
  writeLoadedPlan,
  writeRecords,
} from '../plan/index.js';
import { type ApplyMode, formatApplyMode, parseApplyMode } from './mode.js';
import { PartFailure, commandsForParts, describeReason, runParts, stopParts } from './parts.js';
import { type KernelRunner, createKernelRunner } from './runner.js';
import { createScratch } from './scratch.js';

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
  /** Parts that were already in the kernel as the plan has them, so nothing was reloaded. */
  unchanged: string[];
  /** Clean-ups after success that did not work. */
  warnings: string[];
}

/** One line for people: what was applied, where, and what was left as it was. */
export function describeApplyOutcome(outcome: ApplyOutcome): string {
  if (outcome.applied === undefined) return `dry-run: printed the commands for ${outcome.source}; nothing applied`;
  const kept = outcome.keptPrevious ? ' (the plan before is kept for rollback)' : '';
  const same = outcome.unchanged.length === 0 ? '' : `; ${outcome.unchanged.join(', ')} unchanged and still in the kernel, so not reloaded`;
  const warn = outcome.warnings.map((w) => `; warning: ${w}`).join('');
  return `applied ${outcome.source} in ${formatApplyMode(outcome.mode)}${kept}${same}${warn}`;
}

function runnerFor(options: KernelOptions): KernelRunner {
  return createKernelRunner(options.mode, {
    ...(options.env ? { env: options.env } : {}),
    ...(options.print ? { print: options.print } : {}),
  });
}

async function readPlanIfPresent(dir: string): Promise<LoadedPlan | undefined> {
  if (!(await exists(dir))) return undefined;
  try {
    return await readPlan(dir);
  } catch {
    return undefined;
  }
}

/** The plan in force and what was recorded about it. */
interface RunningPlan {
  plan?: LoadedPlan;
  applied?: AppliedRecord;
  stopped: boolean;
  records: Record<string, string>;
}

async function readRunning(dir: string): Promise<RunningPlan | undefined> {
  if (!(await exists(dir))) return undefined;
  const [plan, applied, stopped, records] = await Promise.all([
    readPlanIfPresent(dir),
    readJson<AppliedRecord>(join(dir, 'applied.json')),
    exists(join(dir, 'stopped.json')),
    readRecords(dir),
  ]);
  return { ...(plan ? { plan } : {}), ...(applied ? { applied } : {}), stopped, records };
}

/** Whether the kernel runs `running` as it was applied, in `mode`: only then may parts skip unchanged work. */
function inForce(running: RunningPlan | undefined, mode: ApplyMode): boolean {
  return running?.applied !== undefined && !running.stopped && running.applied.mode === formatApplyMode(mode);
}

function applyFailure(source: string, failure: unknown): GatehouseError {
  if (failure instanceof PartFailure) {
    return new GatehouseError(`apply of ${source} failed at part ${failure.part}: ${describeReason(failure.reason)}; ${failure.outcome}`, {
      hint: 'fix the plan and apply again; `gatehouse status` shows what is running',
      cause: failure,
    });
  }
  return new GatehouseError(`apply of ${source} failed: ${describeReason(failure)}`, { cause: failure });
}

export async function applyPlan(root: string, options: ApplyOptions): Promise<ApplyOutcome> {
  const paths = planPaths(root);
  const source = options.planDir ?? paths.next;
  const plan = await readPlan(source);
  const runner = runnerFor(options);
  await runner.preflight(commandsForParts(plan));

  if (options.mode.kind === 'dry-run') {
    (options.print ?? ((l: string) => void process.stdout.write(l + '\n')))(`# dry-run: plan ${source} would be applied with:`);
    await runParts(runner, plan).catch((e: unknown) => {
      throw applyFailure(source, e);
    });
    return { mode: options.mode, source, keptPrevious: false, unchanged: [], warnings: [] };
  }

  return withPlanLock(root, async () => {
    await rm(paths.staging, { recursive: true, force: true });
    const running = await readRunning(paths.current);
    const reuse = inForce(running, options.mode);

    await moveDir(paths.previous, paths.asidePrevious);
    await moveDir(paths.current, paths.previous);
    // The disk work overlaps the kernel's; the staged plan becomes current only once both succeeded.
    const staged = writeLoadedPlan(paths.staging, plan);
    staged.catch(() => undefined);
    try {
      const outcome = await runParts(runner, plan, {
        ...(running?.plan ? { before: running.plan } : {}),
        beforeInForce: reuse,
        beforeRecords: reuse ? (running?.records ?? {}) : {},
      });
      await staged;
      const applied = appliedRecord(plan, options.mode, source);
      await writeAppliedRecords(paths.staging, applied, outcome.records);
      await rename(paths.staging, paths.current);
      await rm(paths.asidePrevious, { recursive: true, force: true });
      return { mode: options.mode, source, applied, keptPrevious: running !== undefined, unchanged: outcome.unchanged, warnings: outcome.warnings };
    } catch (failure) {
      await staged.catch(() => undefined);
      await rm(paths.staging, { recursive: true, force: true });
      await moveDir(paths.previous, paths.current);
      await moveDir(paths.asidePrevious, paths.previous);
      if (failure instanceof PartFailure && failure.restored === 'previous' && running) {
        // The kernel holds the previous plan running now, whatever state it was left in.
        await clearRecords(paths.current).catch(() => undefined);
        await rm(join(paths.current, 'stopped.json'), { force: true });
      }
      throw applyFailure(source, failure);
    }
  });
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
    const running = (await readRunning(paths.current))!;
    const current = running.plan ?? (await readPlan(paths.current));
    const previous = await readPlanIfPresent(paths.previous);
    if (previous) {
      await runner.preflight(commandsForParts(previous));
      const reuse = inForce(running, options.mode);
      const outcome = await runParts(runner, previous, { before: current, beforeInForce: reuse, beforeRecords: reuse ? running.records : {} }).catch(
        (e: unknown) => {
          throw new GatehouseError(`rolling back to the previous plan failed: ${describeReason(e)}`, { cause: e });
        },
      );
      await moveDir(paths.current, paths.rejected);
      await moveDir(paths.previous, paths.current);
      const before = await readJson<AppliedRecord>(join(paths.current, 'applied.json'));
      await writeJson(join(paths.current, 'applied.json'), appliedRecord(previous, options.mode, before?.source ?? paths.previous));
      await clearRecords(paths.current);
      await writeRecords(paths.current, outcome.records);
      await rm(join(paths.current, 'stopped.json'), { force: true });
      return { restored: 'previous', message: 'the previous plan is back in force; the unconfirmed one is kept in plan/rejected' };
    }
    await runner.preflight(commandsForParts(current));
    await stopParts(runner, current);
    await clearRecords(paths.current);
    await writeJson(join(paths.current, 'stopped.json'), stoppedRecord(options.mode));
    return { restored: 'stopped', message: 'there was no previous plan, so the stopped ruleset is loaded (closed, not open)' };
  });
}

function stoppedRecord(mode: ApplyMode): StoppedRecord {
  return { stoppedAt: new Date().toISOString(), mode: formatApplyMode(mode) };
}

/** Puts every part of the current plan in its stopped state (the stopped rulesets: stoppedrules). */
export async function stopFirewall(root: string, options: KernelOptions): Promise<void> {
  const paths = planPaths(root);
  if (!(await exists(paths.current))) {
    throw new GatehouseError(`no plan has been applied under ${root}, so there is no stopped ruleset to load`, {
      hint: 'apply a plan first (gatehouse apply)',
    });
  }
  const plan = await readPlan(paths.current);
  const runner = runnerFor(options);
  await runner.preflight(commandsForParts(plan));
  if (options.mode.kind === 'dry-run') {
    await stopParts(runner, plan);
    return;
  }
  await withPlanLock(root, async () => {
    await stopParts(runner, plan);
    await clearRecords(paths.current);
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
  /** Per part, the differences between the kernel and the plan (`- expected`, `+ kernel`). */
  differences: Record<string, string[]>;
}

/**
 * Which plan runs, since when, and whether the kernel still holds what was loaded, part by
 * part. With no mode given, the kernel is read where the plan was applied.
 */
export async function firewallStatus(root: string, options: { mode?: ApplyMode; env?: NodeJS.ProcessEnv } = {}): Promise<FirewallStatus> {
  const paths = planPaths(root);
  const applied = await readJson<AppliedRecord>(join(paths.current, 'applied.json'));
  if (!applied) return { state: 'none', kernel: 'unchecked', uncheckedReason: 'no plan has been applied', differences: {} };
  const stopped = await readJson<StoppedRecord>(join(paths.current, 'stopped.json'));
  const state = stopped ? ('stopped' as const) : ('running' as const);
  const base = { state, applied, ...(stopped ? { stopped } : {}) };
  const mode = options.mode ?? parseApplyMode(stopped?.mode ?? applied.mode);
  if (mode.kind === 'dry-run') return { ...base, kernel: 'unchecked', uncheckedReason: 'dry-run mode reads no kernel', differences: {} };
  const runner = createKernelRunner(mode, options.env ? { env: options.env } : {});
  const [plan, records] = await Promise.all([readPlan(paths.current), readRecords(paths.current)]);
  await runner.preflight(commandsForParts(plan));
  const scratch = createScratch(options.env);
  const kept: Record<string, string> = {};
  let found: string[][];
  try {
    found = await Promise.all(
      plan.parts.map(async ({ part, content }) => {
        const record = records[part.name];
        return part.status(runner, content, {
          state,
          ...(record !== undefined ? { record } : {}),
          keep: (text) => void (kept[part.name] = text),
          scratch: (work) => scratch.use(work),
          contentOf: (name) => plan.parts.find((p) => p.part.name === name)?.content,
        });
      }),
    );
  } finally {
    await scratch.dispose();
  }
  const differences = Object.fromEntries(plan.parts.map((p, i) => [p.part.name, found[i]!]));
  if (Object.keys(kept).length > 0) await keepStatusRecords(root, plan, state, kept);
  const same = Object.values(differences).every((d) => d.length === 0);
  return { ...base, mode: formatApplyMode(mode), kernel: same ? 'matches' : 'differs', differences };
}

/** Keeps what status worked out, unless the plan or its state changed in the meantime. */
async function keepStatusRecords(root: string, plan: LoadedPlan, state: 'running' | 'stopped', records: Record<string, string>): Promise<void> {
  const paths = planPaths(root);
  await withPlanLock(root, async () => {
    const applied = await readJson<AppliedRecord>(join(paths.current, 'applied.json'));
    const nowStopped = await exists(join(paths.current, 'stopped.json'));
    const samePlan = applied !== undefined && Object.keys(plan.digests).every((f) => applied.sha256[f] === plan.digests[f]);
    if (samePlan && nowStopped === (state === 'stopped')) await writeRecords(paths.current, records);
  });
}

export function formatStatus(status: FirewallStatus): string {
  if (status.state === 'none') return 'no plan applied\n';
  const lines: string[] = [];
  const a = status.applied!;
  lines.push(`state: ${status.state}`);
  lines.push(`plan: ${a.source} (rules.v4 sha256 ${(a.sha256['rules.v4'] ?? '?').slice(0, 12)})`);
  lines.push(`applied: ${a.appliedAt} in ${a.mode}`);
  if (status.stopped) lines.push(`stopped: ${status.stopped.stoppedAt} in ${status.stopped.mode}`);
  if (status.kernel === 'unchecked') {
    lines.push(`kernel: not checked (${status.uncheckedReason ?? 'unknown reason'})`);
  } else if (status.kernel === 'matches') {
    lines.push(`kernel: matches what was loaded (${status.mode})`);
  } else {
    lines.push(`kernel: DIFFERS from what was loaded (${status.mode})`);
    for (const [part, diff] of Object.entries(status.differences)) {
      for (const d of diff) lines.push(`  ${part} ${d}`);
    }
  }
  return lines.join('\n') + '\n';
}
