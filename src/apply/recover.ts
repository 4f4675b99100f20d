/**
 * Recovery after a command was killed while it changed the kernel. The store's journal
 * (state.json) names the transition that never finished; the next command that takes the
 * plan lock puts the kernel back on one plan as a whole, both families, and finishes the
 * bookkeeping, before doing its own work. Nothing waits for a timeout: the lock of a dead
 * holder is taken over at once (src/plan/lock.ts).
 */
import { join } from 'node:path';
import {
  type LoadedPlan,
  type StoreState,
  type Transition,
  appliedRecord,
  clearRecords,
  exists,
  planDir,
  readJson,
  readPlan,
  readState,
  removeUnused,
  stoppedRecord,
  writeJson,
  writeState,
  type AppliedRecord,
} from '../plan/index.js';
import { parseApplyMode } from './mode.js';
import { describeReason, runParts, stopParts } from './parts.js';
import { NETNS_RUN_DIR, createKernelRunner } from './runner.js';

export interface RecoverOptions {
  env?: NodeJS.ProcessEnv;
  /** Told what was found and done. */
  log?: (line: string) => void;
}

async function readIfPresent(dir: string): Promise<LoadedPlan | undefined> {
  return readPlan(dir).catch(() => undefined);
}

export function describeTransition(t: Transition): string {
  return `${t.action} by pid ${t.pid} since ${t.since} in ${t.mode}`;
}

/**
 * Finishes an interrupted transition, if any; call it holding the plan lock. Returns the
 * state the store is in afterwards.
 */
export async function recoverInterrupted(root: string, options: RecoverOptions = {}): Promise<StoreState> {
  const state = await readState(root);
  const t = state.transition;
  if (!t) return state;
  const mode = parseApplyMode(t.mode);
  const runner = createKernelRunner(mode, options.env ? { env: options.env } : {});
  const targetGone = mode.kind === 'netns' && !(await exists(join(NETNS_RUN_DIR, mode.name)));
  const partly = t.partly ? await readIfPresent(planDir(root, t.partly)) : undefined;
  let done: string;
  if ('plan' in t.recover) {
    const dir = planDir(root, t.recover.plan);
    const plan = await readPlan(dir);
    if (targetGone) {
      done = `the target ${t.mode} no longer exists, so only the records were put back`;
    } else if (t.recover.state === 'running') {
      try {
        await runParts(runner, plan, { ...(partly ? { before: partly } : {}), beforeInForce: false });
        done = 'the plan in force before is loaded again, whole';
      } catch (e) {
        await stopParts(runner, plan);
        await writeJson(join(dir, 'stopped.json'), stoppedRecord(mode));
        done = `loading the plan in force before failed (${describeReason(e)}), so its stopped state is loaded (closed, not open)`;
      }
    } else {
      await stopParts(runner, plan);
      if (partly) await removeParts(runner, plan, partly);
      done = 'the stopped state is loaded again';
    }
    await clearRecords(dir);
    if (t.recover.state === 'stopped') await writeJson(join(dir, 'stopped.json'), stoppedRecord(mode));
  } else {
    const dir = planDir(root, t.recover.closed);
    const plan = await readPlan(dir);
    if (!targetGone) await stopParts(runner, plan);
    await clearRecords(dir);
    if (!(await readJson<AppliedRecord>(join(dir, 'applied.json')))) await writeJson(join(dir, 'applied.json'), appliedRecord(plan, mode, dir));
    await writeJson(join(dir, 'stopped.json'), stoppedRecord(mode));
    done = 'there was no plan before, so this plan’s stopped state is loaded (closed, not open)';
  }
  const recovered: StoreState = { slots: t.slots };
  await writeState(root, recovered);
  await removeUnused(root, recovered);
  options.log?.(`recovered from an interrupted ${describeTransition(t)}: ${done}`);
  return recovered;
}

/** Removes, from a stopped kernel, the parts and sets of `partly` that `plan` does not have. */
async function removeParts(runner: ReturnType<typeof createKernelRunner>, plan: LoadedPlan, partly: LoadedPlan): Promise<void> {
  const held = new Set(plan.parts.map((p) => p.part.name));
  for (const gone of [...partly.parts].reverse()) if (!held.has(gone.part.name)) await gone.part.stop(runner, gone.content).catch(() => undefined);
  for (const entry of plan.parts) {
    const before = partly.parts.find((p) => p.part.name === entry.part.name)?.content;
    if (entry.part.settle && before !== undefined) await entry.part.settle(runner, entry.content, before).catch(() => undefined);
  }
}
