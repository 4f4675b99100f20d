/**
 * `gatehouse apply [--root DIR] [--apply MODE] [--plan DIR] [--confirm SECONDS]`:
 * loads plan/next (or --plan) into the kernel; with --confirm, rolls back to the
 * previous plan unless `gatehouse confirm` (or a key on the terminal) comes in time.
 * The deadline is kept on disk and by a detached watchdog (src/apply/confirm.ts), so a
 * hang-up, SIGTERM or SIGKILL of this command still rolls back on time.
 */
import type { Argv, CommandModule } from 'yargs';
import { GatehouseError } from '../../errors/index.js';
import { resolveRoot } from '../../layout/index.js';
import {
  type ApplyMode,
  type ConfirmationOutcome,
  applyPlan,
  confirmApply,
  describeApplyOutcome,
  newConfirmationToken,
  pendingExpired,
  readOutcome,
  readPending,
  resolveApplyMode,
  settleConfirmation,
} from '../../apply/index.js';

export interface RootAndModeArgs {
  root?: string;
  apply?: string;
}

/** --root and --apply, shared by apply, stop and status. */
export function withRootAndMode<T>(y: Argv<T>): Argv<T & RootAndModeArgs> {
  return y
    .option('root', { type: 'string', describe: 'runtime root (default GATEHOUSE_ROOT or /)' })
    .option('apply', { type: 'string', describe: 'dry-run, netns:<name> or host (default GATEHOUSE_APPLY, else dry-run unless root is / and you are root)' });
}

export function rootAndMode(args: RootAndModeArgs): { root: string; mode: ApplyMode } {
  const root = resolveRoot(args.root);
  return { root, mode: resolveApplyMode(root, args.apply) };
}

interface ApplyArgs extends RootAndModeArgs {
  plan?: string;
  confirm?: number;
}

export const command: CommandModule<object, ApplyArgs> = {
  command: 'apply',
  describe: 'apply the compiled plan to the kernel (atomic, with rollback)',
  builder: (y) =>
    withRootAndMode(y)
      .option('plan', { type: 'string', describe: 'plan directory (default $ROOT/var/lib/gatehouse/plan/next)' })
      .option('confirm', { type: 'number', describe: 'roll back unless `gatehouse confirm` comes within SECONDS' }),
  handler: async (args) => {
    const { root, mode } = rootAndMode(args);
    const seconds = args.confirm;
    if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0 && seconds <= 3600)) {
      throw new GatehouseError(`--confirm ${String(seconds)} is not a waiting time`, { hint: 'give a number of seconds between 1 and 3600' });
    }
    if (seconds !== undefined && mode.kind === 'dry-run') {
      throw new GatehouseError('--confirm needs a kernel to roll back', { hint: 'use --apply netns:<name> or host' });
    }
    const token = seconds === undefined ? undefined : newConfirmationToken();
    const outcome = await applyPlan(root, {
      mode,
      ...(args.plan ? { planDir: args.plan } : {}),
      ...(seconds !== undefined && token !== undefined ? { confirm: { seconds, token } } : {}),
    });
    if (mode.kind === 'dry-run') return;
    process.stdout.write(describeApplyOutcome(outcome) + '\n');
    if (seconds === undefined || token === undefined) return;
    process.stdout.write(
      `confirm within ${seconds}s with \`gatehouse confirm${args.root ? ` --root ${root}` : ''}\`${process.stdin.isTTY ? ' or press any key' : ''}` +
        ` (if this command is cut off, the previous plan still comes back at ${outcome.pending?.deadline ?? 'the deadline'})\n`,
    );
    const ended = await waitForConfirmation(root, token, process.stdin.isTTY ? process.stdin : undefined);
    if (ended.outcome === 'confirmed') {
      process.stdout.write(`confirmed: the new plan stays${ended.by === 'gatehouse apply (keypress)' ? '' : ` (by ${ended.by})`}\n`);
      return;
    }
    throw new GatehouseError(`not confirmed within ${seconds}s: ${ended.message}`, {
      hint: 'if the new plan cut you off, fix it and apply again with --confirm',
      exitCode: 3,
    });
  },
};

/**
 * Waits for how the confirmation `token` ends: `gatehouse confirm` from anywhere, a key on
 * this terminal, or the deadline (then this process rolls back, unless the watchdog did).
 */
async function waitForConfirmation(root: string, token: string, tty: NodeJS.ReadStream | undefined): Promise<ConfirmationOutcome> {
  let keyPressed = false;
  const onKey = (): void => {
    keyPressed = true;
  };
  if (tty) {
    tty.setRawMode(true);
    tty.resume();
    tty.once('data', onKey);
  }
  try {
    for (;;) {
      if (keyPressed) return await confirmApply(root, { token, by: 'gatehouse apply (keypress)' });
      const pending = await readPending(root);
      if (pending?.token !== token) {
        const last = await readOutcome(root);
        if (last?.token === token) return last;
        throw new GatehouseError('the confirmation this apply waited for is gone, and how it ended is not recorded', { hint: 'check `gatehouse status`' });
      }
      if (pendingExpired(pending)) {
        const ended = await settleConfirmation(root, token, { by: 'gatehouse apply (deadline)' });
        if (ended) return ended;
      }
      const left = pending.deadline ? Date.parse(pending.deadline) - Date.now() : 100;
      await new Promise((r) => setTimeout(r, Math.max(5, Math.min(100, left))));
    }
  } finally {
    if (tty) {
      tty.off('data', onKey);
      tty.setRawMode(false);
      tty.pause();
    }
  }
}
