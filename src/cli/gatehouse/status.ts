/**
 * `gatehouse status [--root DIR] [--apply MODE]`: which plan runs, since when, whether
 * the kernel still holds it, and until when its time windows hold. Exit 0 when it matches (or nothing is applied),
 * 2 when the kernel differs, 1 on error.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { readDatabase } from '../../db/index.js';
import { resolveRoot } from '../../layout/index.js';
import { localTimeZone } from '../../model/index.js';
import { firewallStatus, formatStatus, parseApplyMode } from '../../apply/index.js';
import { describeTimeWindows, planPaths, readPlanTimeWindows, runningPlanDir } from '../../plan/index.js';
import { type RootAndModeArgs, withRootAndMode } from './apply.js';

export const command: CommandModule<object, RootAndModeArgs> = {
  command: 'status',
  describe: 'show the running plan and whether the kernel still matches it',
  builder: (y) => withRootAndMode(y),
  handler: async (args) => {
    const root = resolveRoot(args.root);
    // Reading is harmless, so with no mode given the kernel is read where the plan went.
    const explicit = args.apply ?? process.env['GATEHOUSE_APPLY'];
    const status = await firewallStatus(root, explicit ? { mode: parseApplyMode(explicit) } : {});
    process.stdout.write(formatStatus(status));
    // The API's run-time sets (issue 14): database entries and what each kernel set holds.
    const api = await import('../../api/index.js');
    process.stdout.write(api.formatBlocklistStatus(await api.blocklistStatus(root, explicit ? parseApplyMode(explicit) : status.mode ? parseApplyMode(status.mode) : { kind: 'dry-run' })));
    // The running plan's warnings (records skipped or without effect), kept by compile.
    if (status.state !== 'none') for (const w of await runningPlanWarnings(root)) process.stdout.write(`${w}\n`);
    // How long the running plan's time windows hold; a warning when they run out within the renewal margin.
    const running = status.state === 'none' ? undefined : await runningPlanDir(root);
    if (running !== undefined) {
      const record = await readPlanTimeWindows(running);
      // The zone an event would convert from now (the machine's may have moved since).
      const zone = record instanceof Error || !record?.timeZone ? undefined : localTimeZone(await readDatabase(root, 'configuration'));
      for (const line of describeTimeWindows(record, new Date(), undefined, zone, status.state === 'stopped')) process.stdout.write(`${line}\n`);
    }
    if (status.kernel === 'differs') process.exitCode = 2;
  },
};

/** `warning: ...` notes of plan/current/summary.json; none when it cannot be read. */
async function runningPlanWarnings(root: string): Promise<string[]> {
  try {
    const summary = JSON.parse(await readFile(join(planPaths(root).current, 'summary.json'), 'utf8')) as { notes?: unknown };
    return Array.isArray(summary.notes) ? summary.notes.filter((n): n is string => typeof n === 'string' && n.startsWith('warning: ')) : [];
  } catch {
    return [];
  }
}
