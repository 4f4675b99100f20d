/**
 * `gatehouse confirm [--root DIR]`: keeps the plan a pending `gatehouse apply --confirm`
 * applied; says so plainly when it is too late (the previous plan is already back).
 *
 * `gatehouse confirm --watch TOKEN` is the watchdog that apply starts, detached: it waits
 * for the deadline of that confirmation and rolls back if nobody confirmed it.
 */
import type { CommandModule } from 'yargs';
import { resolveRoot } from '../../layout/index.js';
import { confirmApply, pendingExpired, readPending, settleConfirmation } from '../../apply/index.js';

interface ConfirmArgs {
  root?: string;
  watch?: string;
}

export const command: CommandModule<object, ConfirmArgs> = {
  command: 'confirm',
  describe: 'confirm the plan applied by a waiting `gatehouse apply --confirm`',
  builder: (y) =>
    y
      .option('root', { type: 'string', describe: 'runtime root (default GATEHOUSE_ROOT or /)' })
      .option('watch', { type: 'string', hidden: true, describe: 'be the watchdog of the confirmation with this token' }),
  handler: async (args) => {
    const root = resolveRoot(args.root);
    if (args.watch !== undefined) {
      await watch(root, args.watch);
      return;
    }
    const ended = await confirmApply(root);
    process.stdout.write(`confirmed: the apply of ${ended.source} stays\n`);
  },
};

async function watch(root: string, token: string): Promise<void> {
  // Its own session already keeps terminal signals away; a stray one must not end the wait either.
  process.on('SIGHUP', () => undefined);
  process.on('SIGINT', () => undefined);
  const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${process.pid}: ${line}\n`);
  for (;;) {
    const pending = await readPending(root);
    if (pending?.token !== token) return; // confirmed, or settled by someone else
    if (pendingExpired(pending)) {
      const ended = await settleConfirmation(root, token, { by: 'the confirmation watchdog', log });
      if (ended) {
        log(`confirmation ${token}: ${ended.outcome} (${ended.message}, by ${ended.by})`);
        return;
      }
    }
    const left = pending.deadline ? Date.parse(pending.deadline) - Date.now() : 100;
    await new Promise((r) => setTimeout(r, Math.max(5, Math.min(250, left))));
  }
}
