/**
 * Applying, rolling back and stopping plans. The kernel is changed only through a
 * KernelRunner, part by part (src/apply/parts.ts); the plan directories change only through
 * the plan store, under its lock. A failed apply puts the previous plan back in the kernel
 * (or, with none, the stopped ruleset of the new plan) and puts the directories back, so the
 * firewall is never left open.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import {
  type AppliedRecord,
  type LoadedPlan,
  type StoreState,
  type StoppedRecord,
  addLoadedPlan,
  appliedRecord,
  clearRecords,
  exists,
  holderAlive,
  planDir,
  processStart,
  planPaths,
  readJson,
  readPlan,
  readRecords,
  readState,
  removeUnused,
  stoppedRecord,
  storedPlanId,
  transition,
  withPlanLock,
  withPlanLockIfFree,
  writeAppliedRecords,
  writeJson,
  writeRecords,
  writeState,
} from '../plan/index.js';
import { type ApplyMode, formatApplyMode, parseApplyMode } from './mode.js';
import { PartFailure, commandsForParts, describeReason, runParts, stopParts } from './parts.js';
import {
  type ConfirmationOutcome,
  type PendingConfirmation,
  describePending,
  endPending,
  pendingExpired,
  readOutcome,
  readPending,
  startWatchdog,
  stillPendingError,
  tooLateError,
  writePending,
} from './confirm.js';
import { describeTransition, recoverInterrupted } from './recover.js';
import { explainingRefusals } from './refusal.js';
import { type KernelRunner, NETNS_RUN_DIR, createKernelRunner } from './runner.js';
import { createScratch, sweepStaleScratch } from './scratch.js';

export interface KernelOptions {
  mode: ApplyMode;
  /** Environment for kernel commands (its PATH decides which binaries run). */
  env?: NodeJS.ProcessEnv;
  /** Where dry-run prints its commands; default stdout. */
  print?: (line: string) => void;
  /** Told about waiting for the plan lock and about recovering an interrupted command; default stderr. */
  log?: (line: string) => void;
}

export interface ApplyOptions extends KernelOptions {
  /** The plan to apply; default $ROOT/var/lib/gatehouse/plan/next. */
  planDir?: string;
  /**
   * Roll back unless confirmed within `seconds` of the plan being in the kernel: the
   * pending confirmation is recorded and its watchdog started before the kernel changes.
   */
  confirm?: { seconds: number; token: string; watchdog?: boolean };
  /**
   * Apply only onto this running plan (its id): checked under the plan lock, so a firewall
   * stopped, closed or replaced since the caller decided (renew-time-windows) stays as it is.
   */
  onto?: string;
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
  /** With `confirm`: what waits for confirmation now. */
  pending?: PendingConfirmation;
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

function logFor(options: KernelOptions): (line: string) => void {
  return options.log ?? ((line: string) => void process.stderr.write(`gatehouse: ${line}\n`));
}

/** Takes the plan lock, finishes any interrupted transition and settles an expired confirmation first. */
async function underPlanLock<T>(
  root: string,
  purpose: string,
  options: KernelOptions,
  work: (state: StoreState) => Promise<T>,
  whilePending: 'refuse' | 'allow' | 'roll back' = 'refuse',
): Promise<T> {
  const log = logFor(options);
  return withPlanLock(
    root,
    purpose,
    async () => {
      const recovered = await recoverInterrupted(root, { ...(options.env ? { env: options.env } : {}), log });
      const env = options.env ? { env: options.env } : {};
      // `stop` ends a trial at once: the plan before comes back, and its stopped ruleset is loaded.
      const settle = whilePending === 'roll back' ? { now: true, kernelHoldsCurrent: true, why: `before ${purpose}` } : {};
      const state = await settleExpired(root, recovered, { ...env, log, by: purpose, ...settle });
      if (whilePending === 'refuse') {
        const pending = await readPending(root);
        if (pending) throw stillPendingError(pending);
      }
      return work(state);
    },
    { onWait: log, onTakeOver: log },
  );
}

interface SettleOptions {
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Who settles it, for the record. */
  by: string;
  /** Roll back even before the deadline (at boot: nobody confirmed before the reboot). */
  now?: boolean;
  /** With `now`: the kernel still holds the unconfirmed plan (not a boot), so unchanged parts stay. */
  kernelHoldsCurrent?: boolean;
  /** With `now`: why it is rolled back before its deadline, for the log. */
  why?: string;
}

/**
 * Honours the pending confirmation, holding the plan lock: one whose apply never finished is
 * dropped (the kernel is on the plan before); one nobody can confirm any more is rolled back.
 */
async function settleExpired(root: string, state: StoreState, options: SettleOptions): Promise<StoreState> {
  const pending = await readPending(root);
  if (!pending) return state;
  if (pending.plan !== state.slots.current) {
    await endPending(root, pending, 'dropped', options.by, 'its apply did not finish, so the plan before it stayed in force');
    return state;
  }
  if (!options.now && !pendingExpired(pending)) return state;
  const mode = parseApplyMode(pending.mode);
  if (mode.kind === 'netns' && !(await exists(join(NETNS_RUN_DIR, mode.name)))) {
    await endPending(root, pending, 'dropped', options.by, `its target ${pending.mode} no longer exists, so there is nothing to roll back`);
    return state;
  }
  const kernel: KernelOptions = { mode, ...(options.env ? { env: options.env } : {}), log: options.log };
  let message: string;
  try {
    message = (await rollbackLocked(root, kernel, state, pending.previous, options.kernelHoldsCurrent ?? !options.now)).message;
  } catch (e) {
    // The unconfirmed plan must not stay: with the plan before unusable, close the firewall.
    const current = await readState(root);
    await stopLocked(root, kernel, current);
    message = `putting the previous plan back failed (${describeReason(e)}), so the stopped ruleset is loaded (closed, not open)`;
  }
  const when = options.why ?? (pending.deadline ? `by ${pending.deadline}` : 'before its apply was interrupted');
  await endPending(root, pending, 'rolled back', options.by, message);
  options.log(`the apply of ${pending.source} was not confirmed ${when}: ${message}`);
  return readState(root);
}

/**
 * Takes the plan lock and finishes an interrupted transition, if there is one (for a boot
 * service, or a test). Returns what was done, or undefined when nothing was interrupted.
 */
export async function recoverPlanStore(root: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<string | undefined> {
  let said: string | undefined;
  await withPlanLock(root, 'gatehouse recover', () =>
    recoverInterrupted(root, { ...(options.env ? { env: options.env } : {}), log: (line) => void (said = line) }),
  );
  return said;
}

/** ApplyOptions.onto: the plan decided on still runs (not stopped, closed or replaced); else nothing is applied. */
async function assertStillOnto(root: string, onto: string, runningId: string | undefined, running: RunningPlan | undefined): Promise<void> {
  let changed: string | undefined;
  if (runningId !== onto) changed = runningId === undefined ? 'no plan runs any more' : `plan/current is now another plan (${runningId})`;
  else if (running?.stopped) changed = 'the firewall was stopped (gatehouse stop)';
  else if (await exists(join(planDir(root, runningId), REJECTED_MARK))) changed = 'the firewall was closed (an unconfirmed apply was rolled back)';
  if (changed === undefined) return;
  throw new GatehouseError(`${changed} while this apply was under way, which was meant for the plan running before: nothing applied, the firewall stays as it is`, {
    hint: 'signal-event firewall-adjust applies the databases whatever runs (it also starts a stopped firewall)',
  });
}

/** Whether a failed transition left the kernel on a known plan (then the journal entry can go). */
function settledAfterFailure(failure: unknown, hadRunning: boolean): boolean {
  return failure instanceof PartFailure && (failure.restored === 'previous' || (failure.restored === 'stopped' && !hadRunning));
}

export async function applyPlan(root: string, options: ApplyOptions): Promise<ApplyOutcome> {
  const paths = planPaths(root);
  const source = options.planDir ?? paths.next;
  const plan = await readPlan(source);
  // A line the kernel refuses is reported with the file, line and record it came from.
  const runner = explainingRefusals(runnerFor(options), () => plan.plan.origins);
  await runner.preflight(commandsForParts(plan));

  if (options.mode.kind === 'dry-run') {
    (options.print ?? ((l: string) => void process.stdout.write(l + '\n')))(`# dry-run: plan ${source} would be applied with:`);
    await runParts(runner, plan).catch((e: unknown) => {
      throw applyFailure(source, e);
    });
    return { mode: options.mode, source, keptPrevious: false, unchanged: [], warnings: [] };
  }

  return underPlanLock(root, `gatehouse apply of ${source}`, options, async (state) => {
    const runningId = state.slots.current;
    const running = runningId === undefined ? undefined : await readRunning(planDir(root, runningId));
    if (options.onto !== undefined) await assertStillOnto(root, options.onto, runningId, running);
    const reuse = inForce(running, options.mode);
    // A plan already in the store (plan/next after a compile) is used as it is; any other is stored first.
    const newId = (await storedPlanId(root, source)) ?? (await addLoadedPlan(root, plan));
    const recover = runningId === undefined ? { closed: newId } : { plan: runningId, state: running?.stopped ? ('stopped' as const) : ('running' as const) };
    // Recorded before the kernel changes: whatever happens to this process from here on, the plan must be confirmed.
    const pending = options.confirm ? await recordPending(root, options, { plan: newId, source, ...(runningId !== undefined ? { previous: runningId } : {}) }) : undefined;
    await writeState(root, { slots: state.slots, transition: transition('apply', options.mode, recover, state.slots, newId) });
    let outcome;
    try {
      outcome = await runParts(runner, plan, {
        ...(running?.plan ? { before: running.plan } : {}),
        beforeInForce: reuse,
        beforeRecords: reuse ? (running?.records ?? {}) : {},
      });
    } catch (failure) {
      if (settledAfterFailure(failure, runningId !== undefined)) {
        if (runningId !== undefined) {
          // The kernel holds the previous plan running now, whatever state it was left in.
          await clearRecords(planDir(root, runningId)).catch(() => undefined);
          await rm(join(planDir(root, runningId), 'stopped.json'), { force: true });
        }
        await writeState(root, { slots: state.slots });
        await removeUnused(root, { slots: state.slots });
        if (pending) await endPending(root, pending, 'dropped', 'gatehouse apply', 'the apply failed, so the plan before it stayed in force');
      }
      // Otherwise the journal stays: the next command puts the kernel back on one plan (and drops the pending confirmation).
      throw applyFailure(source, failure);
    }
    const applied = appliedRecord(plan, options.mode, source);
    await writeAppliedRecords(planDir(root, newId), applied, outcome.records);
    // Applying the plan in force again (at boot) keeps the plan before it as previous.
    const previous = newId === runningId ? state.slots.previous : runningId;
    const slots = { current: newId, ...(previous !== undefined ? { previous } : {}), ...(state.slots.rejected ? { rejected: state.slots.rejected } : {}) };
    await writeState(root, { slots });
    await removeUnused(root, { slots });
    if (pending) {
      // The plan is in the kernel: the time to confirm starts now.
      pending.deadline = new Date(Date.now() + pending.seconds * 1000).toISOString();
      await writePending(root, pending);
    }
    return {
      mode: options.mode,
      source,
      applied,
      keptPrevious: running !== undefined,
      unchanged: outcome.unchanged,
      warnings: outcome.warnings,
      ...(pending ? { pending } : {}),
    };
  });
}

async function recordPending(root: string, options: ApplyOptions, what: Pick<PendingConfirmation, 'plan' | 'source' | 'previous'>): Promise<PendingConfirmation> {
  const { seconds, token, watchdog } = options.confirm!;
  const pending: PendingConfirmation = {
    token,
    seconds,
    ...what,
    mode: formatApplyMode(options.mode),
    pid: process.pid,
    start: processStart(process.pid) ?? '',
  };
  await writePending(root, pending);
  if (watchdog !== false) {
    pending.watchdog = startWatchdog(root, token, options.env);
    await writePending(root, pending);
  }
  return pending;
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
  if (options.mode.kind === 'dry-run') throw new GatehouseError('nothing to roll back in dry-run mode', { hint: 'choose --apply netns:<name> or host' });
  return underPlanLock(root, 'gatehouse rollback', options, (state) => rollbackLocked(root, options, state, state.slots.previous), 'allow');
}

/** rollbackPlan's work, holding the plan lock: puts `previousId` back (none: the stopped ruleset of the current plan). */
async function rollbackLocked(root: string, options: KernelOptions, state: StoreState, previousId: string | undefined, kernelMayHoldCurrent = true): Promise<RollbackOutcome> {
  const runner = runnerFor(options);
  const currentId = state.slots.current;
  if (currentId === undefined) {
    throw new GatehouseError('no plan is applied, so there is nothing to roll back', { hint: 'apply a plan first' });
  }
  const currentDir = planDir(root, currentId);
  const running = (await readRunning(currentDir))!;
  const current = running.plan ?? (await readPlan(currentDir));
  const previous = previousId === undefined ? undefined : await readPlan(planDir(root, previousId)).catch(() => undefined);
  if (previousId !== undefined && previous) {
    await runner.preflight(commandsForParts(previous));
    const slots = { current: previousId, rejected: currentId };
    await writeState(root, { slots: state.slots, transition: transition('rollback', options.mode, { plan: previousId, state: 'running' }, slots, currentId) });
    // After a reboot the kernel holds nothing yet: everything is loaded, nothing taken as already there.
    const reuse = kernelMayHoldCurrent && inForce(running, options.mode);
    let outcome;
    try {
      outcome = await runParts(runner, previous, { before: current, beforeInForce: reuse, beforeRecords: reuse ? running.records : {} });
    } catch (e) {
      if (e instanceof PartFailure && e.restored === 'previous') await writeState(root, { slots: state.slots });
      throw new GatehouseError(`rolling back to the previous plan failed: ${describeReason(e)}`, { cause: e });
    }
    const dir = planDir(root, previousId);
    const before = await readJson<AppliedRecord>(join(dir, 'applied.json'));
    await writeAppliedRecords(dir, appliedRecord(previous, options.mode, before?.source ?? dir), outcome.records);
    await writeState(root, { slots });
    await removeUnused(root, { slots });
    return { restored: 'previous', message: 'the previous plan is back in force; the unconfirmed one is kept in plan/rejected' };
  }
  await runner.preflight(commandsForParts(current));
  await writeState(root, { slots: state.slots, transition: transition('stop', options.mode, { closed: currentId }, state.slots) });
  await stopParts(runner, current);
  await clearRecords(currentDir);
  await writeJson(join(currentDir, 'stopped.json'), stoppedRecord(options.mode));
  // It stays plan/current (nothing else to point at), marked so that `gatehouse start` at the
  // next boot loads its stopped ruleset instead of applying what was rolled back.
  await writeJson(join(currentDir, REJECTED_MARK), { at: new Date().toISOString(), why: 'rolled back with no plan before it' });
  await writeState(root, { slots: state.slots });
  return { restored: 'stopped', message: 'there was no previous plan, so the stopped ruleset is loaded (closed, not open)' };
}

/**
 * `gatehouse confirm`: keeps the plan a pending `apply --confirm` put in the kernel. Too
 * late (the deadline passed, or the apply died before it finished) is an error saying what
 * happened instead. With `token`, only that confirmation is kept (a keypress of the apply).
 */
export async function confirmApply(root: string, options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void; token?: string; by?: string } = {}): Promise<ConfirmationOutcome> {
  const by = options.by ?? 'gatehouse confirm';
  const kernel: KernelOptions = { mode: { kind: 'dry-run' }, ...(options.env ? { env: options.env } : {}), ...(options.log ? { log: options.log } : {}) };
  return underPlanLock(
    root,
    by,
    kernel,
    async () => {
      const pending = await readPending(root);
      if (pending && (options.token === undefined || pending.token === options.token)) {
        return endPending(root, pending, 'confirmed', by, 'the new plan stays');
      }
      const last = await readOutcome(root);
      if (last && (options.token === undefined || last.token === options.token)) {
        if (last.outcome === 'confirmed' && options.token !== undefined) return last;
        if (last.outcome !== 'confirmed') throw tooLateError(last);
      }
      throw new GatehouseError('no apply is waiting for confirmation', {
        hint: 'run `gatehouse apply --confirm SECONDS` first; a plan applied without --confirm needs none',
      });
    },
    'allow',
  );
}

/**
 * Settles the confirmation `token` once nobody can give it any more (the watchdog at the
 * deadline, the waiting apply): rolls back, unless someone else did first or it was confirmed.
 * Returns how it ended, or undefined while it still waits.
 */
export async function settleConfirmation(
  root: string,
  token: string,
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void; by: string },
): Promise<ConfirmationOutcome | undefined> {
  const kernel: KernelOptions = { mode: { kind: 'dry-run' }, ...(options.env ? { env: options.env } : {}), ...(options.log ? { log: options.log } : {}) };
  return underPlanLock(
    root,
    options.by,
    kernel,
    async () => {
      const pending = await readPending(root);
      if (pending?.token === token) return undefined;
      const last = await readOutcome(root);
      return last?.token === token ? last : undefined;
    },
    'allow',
  );
}

/**
 * At boot: a confirmation still pending was never given before the machine went down, so
 * the plan before comes back now (before `start` loads plan/current).
 */
export async function rollBackUnconfirmed(root: string, options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<ConfirmationOutcome | undefined> {
  const log = logFor({ mode: { kind: 'dry-run' }, ...(options.log ? { log: options.log } : {}) });
  const env = options.env ? { env: options.env } : {};
  return withPlanLock(root, 'gatehouse start (unconfirmed plan)', async () => {
    const pending = await readPending(root);
    if (!pending) return undefined;
    const state = await recoverInterrupted(root, { ...env, log });
    await settleExpired(root, state, { ...env, log, by: 'gatehouse start', now: true });
    const last = await readOutcome(root);
    return last?.token === pending.token ? last : undefined;
  });
}

/** In a plan directory: the plan was rolled back (unconfirmed) with nothing before it; never apply it unasked. */
export const REJECTED_MARK = 'rejected.json';

/** Puts every part of the current plan in its stopped state (the stopped rulesets: stoppedrules). */
export async function stopFirewall(root: string, options: KernelOptions): Promise<void> {
  const runner = runnerFor(options);
  if (options.mode.kind === 'dry-run') {
    const state = await readState(root);
    if (state.slots.current === undefined) throw noPlanToStop(root);
    const plan = await readPlan(planDir(root, state.slots.current));
    await stopParts(runner, plan);
    return;
  }
  await underPlanLock(root, 'gatehouse stop', options, (state) => stopLocked(root, options, state), 'roll back');
}

async function stopLocked(root: string, options: KernelOptions, state: StoreState): Promise<void> {
  const runner = runnerFor(options);
  const currentId = state.slots.current;
  if (currentId === undefined) throw noPlanToStop(root);
  const dir = planDir(root, currentId);
  const plan = await readPlan(dir);
  await runner.preflight(commandsForParts(plan));
  await writeState(root, { slots: state.slots, transition: transition('stop', options.mode, { plan: currentId, state: 'stopped' }, state.slots) });
  await stopParts(runner, plan);
  await clearRecords(dir);
  await writeJson(join(dir, 'stopped.json'), stoppedRecord(options.mode));
  await writeState(root, { slots: state.slots });
}

function noPlanToStop(root: string): GatehouseError {
  return new GatehouseError(`no plan has been applied under ${root}, so there is no stopped ruleset to load`, {
    hint: 'apply a plan first (gatehouse apply)',
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
  /** A change of the kernel under way, or interrupted (its process no longer runs). */
  transition?: string;
  /** An apply waiting for `gatehouse confirm`, or what became of one status found expired. */
  confirmation?: string;
}

function describeJournal(state: StoreState): string | undefined {
  const t = state.transition;
  if (!t) return undefined;
  if (holderAlive(t)) return `${describeTransition(t)} is under way`;
  return `${describeTransition(t)} was interrupted; the next apply, stop or event puts the kernel back on one plan first`;
}

/**
 * Which plan runs, since when, and whether the kernel still holds what was loaded, part by
 * part. With no mode given, the kernel is read where the plan was applied. Never waits for
 * the plan lock and never changes the kernel.
 */
export async function firewallStatus(root: string, options: { mode?: ApplyMode; env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<FirewallStatus> {
  // An unconfirmed plan past its deadline is not reported as running: it is rolled back first.
  let pending = await readPending(root);
  let confirmation: string | undefined;
  if (pending && pendingExpired(pending)) {
    const ended = await settleConfirmation(root, pending.token, { by: 'gatehouse status', ...(options.env ? { env: options.env } : {}), ...(options.log ? { log: options.log } : {}) });
    if (ended) confirmation = `the apply of ${ended.source} was not confirmed in time: ${ended.message}`;
    pending = await readPending(root);
  }
  if (pending) confirmation = describePending(pending);
  const store = await readState(root);
  const journal = describeJournal(store);
  const withJournal = { ...(journal ? { transition: journal } : {}), ...(confirmation ? { confirmation } : {}) };
  const currentId = store.slots.current;
  const dir = currentId === undefined ? undefined : planDir(root, currentId);
  const applied = dir === undefined ? undefined : await readJson<AppliedRecord>(join(dir, 'applied.json'));
  if (!dir || !applied) return { state: 'none', kernel: 'unchecked', uncheckedReason: 'no plan has been applied', differences: {}, ...withJournal };
  const stopped = await readJson<StoppedRecord>(join(dir, 'stopped.json'));
  const state = stopped ? ('stopped' as const) : ('running' as const);
  const base = { state, applied, ...(stopped ? { stopped } : {}), ...withJournal };
  const mode = options.mode ?? parseApplyMode(stopped?.mode ?? applied.mode);
  if (mode.kind === 'dry-run') return { ...base, kernel: 'unchecked', uncheckedReason: 'dry-run mode reads no kernel', differences: {} };
  const runner = createKernelRunner(mode, options.env ? { env: options.env } : {});
  // Scratch namespaces left by a status that was killed outright go first.
  await sweepStaleScratch(options.env);
  const [plan, records] = await Promise.all([readPlan(dir), readRecords(dir)]);
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
  if (Object.keys(kept).length > 0 && !store.transition) await keepStatusRecords(root, currentId!, state, kept);
  const same = Object.values(differences).every((d) => d.length === 0);
  return { ...base, mode: formatApplyMode(mode), kernel: same ? 'matches' : 'differs', differences };
}

/** Keeps what status worked out, unless the plan or its state changed in the meantime (or a command holds the lock). */
async function keepStatusRecords(root: string, id: string, state: 'running' | 'stopped', records: Record<string, string>): Promise<void> {
  await withPlanLockIfFree(root, 'gatehouse status (keeping what the kernel should show)', async () => {
    const now = await readState(root);
    const nowStopped = await exists(join(planDir(root, id), 'stopped.json'));
    if (now.slots.current === id && !now.transition && nowStopped === (state === 'stopped')) await writeRecords(planDir(root, id), records);
  });
}

export function formatStatus(status: FirewallStatus): string {
  const lines: string[] = [];
  if (status.state === 'none') {
    lines.push('no plan applied');
    if (status.transition) lines.push(`transition: ${status.transition}`);
    if (status.confirmation) lines.push(`confirmation: ${status.confirmation}`);
    return lines.join('\n') + '\n';
  }
  const a = status.applied!;
  lines.push(`state: ${status.state}`);
  lines.push(`plan: ${a.source} (rules.v4 sha256 ${(a.sha256['rules.v4'] ?? '?').slice(0, 12)})`);
  lines.push(`applied: ${a.appliedAt} in ${a.mode}`);
  if (status.stopped) lines.push(`stopped: ${status.stopped.stoppedAt} in ${status.stopped.mode}`);
  if (status.transition) lines.push(`transition: ${status.transition}`);
  if (status.confirmation) lines.push(`confirmation: ${status.confirmation}`);
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
