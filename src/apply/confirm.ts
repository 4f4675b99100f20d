/**
 * Confirm-or-roll-back handshake between `gatehouse apply --confirm` and a second
 * process running `gatehouse confirm`: files under $ROOT/run/gatehouse, so it works
 * across processes (and over a fresh SSH session) with no daemon.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import { runtimePaths } from '../layout/index.js';

export interface PendingConfirmation {
  pid: number;
  token: string;
  deadline: string;
}

function files(root: string): { pending: string; confirmed: string } {
  const dir = runtimePaths(root).runDir;
  return { pending: join(dir, 'confirm-pending.json'), confirmed: join(dir, 'confirmed') };
}

/** Announces that this process waits for a confirmation until `seconds` from now. */
export async function beginConfirmation(root: string, seconds: number): Promise<PendingConfirmation> {
  const f = files(root);
  await mkdir(runtimePaths(root).runDir, { recursive: true });
  await rm(f.confirmed, { force: true });
  const pending = {
    pid: process.pid,
    token: randomBytes(8).toString('hex'),
    deadline: new Date(Date.now() + seconds * 1000).toISOString(),
  };
  await writeFile(f.pending, JSON.stringify(pending) + '\n');
  return pending;
}

/** `gatehouse confirm`: accepts the plan a waiting `apply --confirm` applied. */
export async function confirmApply(root: string): Promise<PendingConfirmation> {
  const f = files(root);
  let pending: PendingConfirmation;
  try {
    pending = JSON.parse(await readFile(f.pending, 'utf8')) as PendingConfirmation;
  } catch {
    throw new GatehouseError('no apply is waiting for confirmation', {
      hint: 'run `gatehouse apply --confirm SECONDS` first; a plan applied without --confirm needs none',
    });
  }
  if (Date.parse(pending.deadline) < Date.now() || !isAlive(pending.pid)) {
    throw new GatehouseError('the apply waiting for confirmation has already ended (timed out or interrupted)', {
      hint: 'check `gatehouse status` and apply again',
    });
  }
  await writeFile(f.confirmed, pending.token + '\n');
  return pending;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface WaitOptions {
  seconds: number;
  /** A terminal whose keypress also confirms. */
  tty?: NodeJS.ReadStream;
  /** How often the confirmation file is looked at. */
  pollMilliseconds?: number;
}

/** Resolves `confirmed` on `gatehouse confirm` (or a keypress), `timeout` otherwise. */
export async function waitForConfirmation(
  root: string,
  pending: PendingConfirmation,
  options: WaitOptions,
): Promise<'confirmed' | 'timeout'> {
  const f = files(root);
  const deadline = Date.now() + options.seconds * 1000;
  const poll = options.pollMilliseconds ?? 100;
  let keyPressed = false;
  const tty = options.tty;
  const onKey = (): void => {
    keyPressed = true;
  };
  if (tty?.isTTY) {
    tty.setRawMode(true);
    tty.resume();
    tty.once('data', onKey);
  }
  try {
    for (;;) {
      if (keyPressed) return 'confirmed';
      const token = await readFile(f.confirmed, 'utf8').catch(() => '');
      if (token.trim() === pending.token) return 'confirmed';
      if (Date.now() >= deadline) return 'timeout';
      await new Promise((r) => setTimeout(r, Math.min(poll, Math.max(0, deadline - Date.now()))));
    }
  } finally {
    if (tty?.isTTY) {
      tty.off('data', onKey);
      tty.setRawMode(false);
      tty.pause();
    }
    await rm(f.pending, { force: true });
    await rm(f.confirmed, { force: true });
  }
}
