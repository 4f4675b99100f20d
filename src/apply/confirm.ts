/**
 * The confirmation of `gatehouse apply --confirm SECONDS`, kept on disk so that it outlives
 * the command that started it. A dropped SSH connection (SIGHUP), a SIGTERM or a SIGKILL of
 * the apply must still put the previous plan back on time.
 *
 *   plan/confirm.json      the pending confirmation: the plan applied, the plan to go back
 *                          to, the deadline (set once the plan is in the kernel) and a token.
 *                          Written before the kernel changes, removed by the one who settles
 *                          it (confirm, or roll back), under the plan lock.
 *   run/gatehouse/confirm-last.json     how the last one ended (for the waiting apply, for
 *                          `gatehouse confirm` coming too late, and for status).
 *
 * A detached watchdog (`gatehouse confirm --watch TOKEN`, its own session, no terminal)
 * rolls back at the deadline. Whoever comes first settles it: the watchdog, the waiting
 * apply, or any next command that takes the plan lock (apply, stop, an event, status,
 * confirm): an expired record is rolled back before anything else is done, so a killed
 * watchdog or a reboot (the record lives beside the plans) cannot keep an unconfirmed plan.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import { projectDir, runtimePaths } from '../layout/index.js';
import { holderAlive, planPaths, processStart, readJson, writeJson } from '../plan/index.js';

export interface PendingConfirmation {
  token: string;
  seconds: number;
  /** The plan applied (plans/<id>) and where it came from. */
  plan: string;
  source: string;
  /** The plan put back if no confirmation comes (none: the stopped state is loaded). */
  previous?: string;
  /** The apply mode, so that whoever settles it changes the same kernel. */
  mode: string;
  /** The apply process. */
  pid: number;
  start: string;
  /** Set once the plan is in the kernel; until then, a dead apply process means "not confirmed". */
  deadline?: string;
  watchdog?: { pid: number; start: string };
}

export interface ConfirmationOutcome {
  token: string;
  plan: string;
  source: string;
  deadline?: string;
  outcome: 'confirmed' | 'rolled back' | 'dropped';
  at: string;
  /** Who settled it: `gatehouse confirm`, `the watchdog`, `gatehouse status`... */
  by: string;
  message: string;
}

export function pendingFile(root: string): string {
  return join(planPaths(root).base, 'confirm.json');
}

function outcomeFile(root: string): string {
  return join(runtimePaths(root).runDir, 'confirm-last.json');
}

export function newConfirmationToken(): string {
  return randomBytes(8).toString('hex');
}

export async function readPending(root: string): Promise<PendingConfirmation | undefined> {
  const p = await readJson<PendingConfirmation>(pendingFile(root));
  return p && typeof p.token === 'string' ? p : undefined;
}

export async function writePending(root: string, pending: PendingConfirmation): Promise<void> {
  await mkdir(planPaths(root).base, { recursive: true });
  await writeJson(pendingFile(root), pending);
}

export async function readOutcome(root: string): Promise<ConfirmationOutcome | undefined> {
  return readJson<ConfirmationOutcome>(outcomeFile(root));
}

/** Records how `pending` ended and removes it; call it holding the plan lock. */
export async function endPending(root: string, pending: PendingConfirmation, outcome: ConfirmationOutcome['outcome'], by: string, message: string): Promise<ConfirmationOutcome> {
  const ended: ConfirmationOutcome = {
    token: pending.token,
    plan: pending.plan,
    source: pending.source,
    ...(pending.deadline ? { deadline: pending.deadline } : {}),
    outcome,
    at: new Date().toISOString(),
    by,
    message,
  };
  await mkdir(runtimePaths(root).runDir, { recursive: true });
  await writeJson(outcomeFile(root), ended);
  await rm(pendingFile(root), { force: true });
  return ended;
}

/** Whether nobody can confirm `pending` any more: its deadline passed, or its apply died before setting one. */
export function pendingExpired(pending: PendingConfirmation, now = Date.now()): boolean {
  if (pending.deadline !== undefined) return Date.parse(pending.deadline) <= now;
  return !holderAlive({ pid: pending.pid, start: pending.start });
}

export function describePending(pending: PendingConfirmation, now = Date.now()): string {
  if (pending.deadline === undefined) return `the apply of ${pending.source} (pid ${pending.pid}) is loading a plan that must be confirmed`;
  const left = Math.max(0, Math.ceil((Date.parse(pending.deadline) - now) / 1000));
  const back = pending.previous ? 'the previous plan comes back' : 'the stopped ruleset is loaded';
  return `the apply of ${pending.source} waits for \`gatehouse confirm\` until ${pending.deadline} (${left}s left); otherwise ${back}`;
}

export function stillPendingError(pending: PendingConfirmation): GatehouseError {
  return new GatehouseError(`${describePending(pending)}, so nothing else is applied meanwhile`, {
    hint: 'run `gatehouse confirm` to keep that plan, or wait for the deadline (the previous plan comes back), then try again',
  });
}

export function tooLateError(ended: ConfirmationOutcome): GatehouseError {
  const deadline = ended.deadline ? `its deadline was ${ended.deadline}` : 'its apply was interrupted before it finished';
  return new GatehouseError(`too late to confirm the apply of ${ended.source}: ${deadline}; ${ended.message} (at ${ended.at}, by ${ended.by})`, {
    hint: 'apply the plan again with --confirm, then confirm in time',
  });
}

/**
 * Starts the watchdog that rolls back at the deadline: `gatehouse confirm --watch TOKEN`,
 * detached in its own session (a hang-up of the terminal does not reach it), output to
 * run/gatehouse/confirm-watchdog.log, not waited for.
 */
export function startWatchdog(root: string, token: string, env: NodeJS.ProcessEnv = process.env): { pid: number; start: string } {
  const runDir = runtimePaths(root).runDir;
  mkdirSync(runDir, { recursive: true });
  const log = openSync(join(runDir, 'confirm-watchdog.log'), 'a', 0o600);
  try {
    const child = spawn(process.execPath, [join(projectDir(), 'bin/gatehouse.js'), 'confirm', '--root', root, '--watch', token], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: '/',
      env,
    });
    child.unref();
    if (child.pid === undefined) throw new GatehouseError('could not start the confirmation watchdog', { hint: 'check that node can be run' });
    return { pid: child.pid, start: processStart(child.pid) ?? '' };
  } finally {
    closeSync(log);
  }
}
