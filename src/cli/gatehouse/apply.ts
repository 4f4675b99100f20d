/**
 * `gatehouse apply [--root DIR] [--apply MODE] [--plan DIR] [--confirm SECONDS]`:
 * loads plan/next (or --plan) into the kernel; with --confirm, rolls back to the
 * previous plan unless `gatehouse confirm` (or a key on the terminal) comes in time.
 */
import type { Argv, CommandModule } from 'yargs';
import { GatehouseError } from '../../errors/index.js';
import { resolveRoot } from '../../layout/index.js';
import {
  type ApplyMode,
  applyPlan,
  beginConfirmation,
  describeApplyOutcome,
  resolveApplyMode,
  rollbackPlan,
  waitForConfirmation,
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
    const outcome = await applyPlan(root, { mode, ...(args.plan ? { planDir: args.plan } : {}) });
    if (mode.kind === 'dry-run') return;
    process.stdout.write(describeApplyOutcome(outcome) + '\n');
    if (seconds === undefined) return;
    const pending = await beginConfirmation(root, seconds);
    process.stdout.write(`confirm within ${seconds}s with \`gatehouse confirm${args.root ? ` --root ${root}` : ''}\`${process.stdin.isTTY ? ' or press any key' : ''}\n`);
    const answer = await waitForConfirmation(root, pending, { seconds, ...(process.stdin.isTTY ? { tty: process.stdin } : {}) });
    if (answer === 'confirmed') {
      process.stdout.write('confirmed: the new plan stays\n');
      return;
    }
    const rollback = await rollbackPlan(root, { mode });
    throw new GatehouseError(`not confirmed within ${seconds}s: ${rollback.message}`, {
      hint: 'if the new plan cut you off, fix it and apply again with --confirm',
      exitCode: 3,
    });
  },
};
