/**
 * Running a plan's parts against a target: each part starts once the parts it needs are in
 * (independent parts run side by side); when one fails, every part already applied, and the
 * failing one, is rolled back in reverse order. The engine knows nothing of what a part does.
 */
import { GatehouseError } from '../errors/index.js';
import type { AnyPlanPart, KernelRunner, LoadedPart, LoadedPlan, PartApplyResult } from '../plan/index.js';

export interface RunPartsOptions {
  /** The plan in force, if any: parts roll back to it, and drop what it had and the new one has not. */
  before?: LoadedPlan;
  /** Whether the kernel runs `before` as applied (not stopped, same mode): then unchanged parts may skip work. */
  beforeInForce?: boolean;
  /** What each part kept when `before` was applied. */
  beforeRecords?: Record<string, string>;
}

export interface PartsOutcome {
  /** Parts that found the kernel already holding them and changed nothing. */
  unchanged: string[];
  /** What parts kept, to store beside the running plan. */
  records: Record<string, string>;
  /** Clean-ups after success that did not work (never fatal: the plan is in force). */
  warnings: string[];
}

/** A part's failure and what the rollback achieved. */
export class PartFailure extends Error {
  constructor(
    readonly part: string,
    readonly reason: unknown,
    /** `previous`: the plan before is back; `stopped`: the stopped state is loaded; `unknown`: even that failed. */
    readonly restored: 'previous' | 'stopped' | 'unknown',
    /** One sentence for people on what the kernel holds now. */
    readonly outcome: string,
  ) {
    super(`part ${part}: ${describeReason(reason)}; ${outcome}`);
  }
}

export function describeReason(e: unknown): string {
  if (e instanceof PartFailure) return `part ${e.part}: ${describeReason(e.reason)}`;
  return e instanceof GatehouseError ? e.format() : e instanceof Error ? e.message : String(e);
}

type Run =
  | { status: 'applied'; result: PartApplyResult }
  | { status: 'failed'; error: unknown }
  | { status: 'skipped' };

function beforeOf(options: RunPartsOptions, name: string): LoadedPart | undefined {
  return options.before?.parts.find((p) => p.part.name === name);
}

/** Kernel commands a whole plan needs, for the preflight. */
export function commandsForParts(plan: LoadedPlan): string[] {
  return [...new Set(plan.parts.flatMap((p) => [...p.part.commands(p.content)]))];
}

export async function runParts(runner: KernelRunner, plan: LoadedPlan, options: RunPartsOptions = {}): Promise<PartsOutcome> {
  const settled = new AbortController();
  const contexts = plan.parts.map((entry) => {
    const before = beforeOf(options, entry.part.name);
    const sameAsBefore = options.beforeInForce === true && before !== undefined && before.digest === entry.digest;
    const beforeRecord = sameAsBefore ? options.beforeRecords?.[entry.part.name] : undefined;
    const beforeInForce = options.beforeInForce === true && before !== undefined;
    return { ...(before ? { before: before.content } : {}), beforeInForce, sameAsBefore, ...(beforeRecord !== undefined ? { beforeRecord } : {}) };
  });
  // Read-only looks at the kernel start at once and run beside the parts before them.
  const prepared = plan.parts.map((entry, i) =>
    entry.part.prepare ? entry.part.prepare(runner, entry.content, contexts[i]!).catch(() => undefined) : Promise.resolve(undefined),
  );
  const runs = new Map<string, Promise<Run>>();
  for (const [i, entry] of plan.parts.entries()) {
    const needs = entry.part.needs.map((n) => runs.get(n)).filter((r): r is Promise<Run> => r !== undefined);
    runs.set(
      entry.part.name,
      (async (): Promise<Run> => {
        const deps = await Promise.all(needs);
        if (deps.some((d) => d.status !== 'applied')) return { status: 'skipped' };
        try {
          const result = await entry.part.apply(runner, entry.content, { ...contexts[i]!, prepared: await prepared[i], settled: settled.signal });
          return { status: 'applied', result };
        } catch (error) {
          return { status: 'failed', error };
        }
      })(),
    );
  }
  const results = await Promise.all(plan.parts.map((p) => runs.get(p.part.name)!));
  await Promise.all(prepared);
  const failedAt = results.findIndex((r) => r.status === 'failed');
  if (failedAt >= 0) {
    settled.abort();
    const failure = results[failedAt] as { error: unknown };
    throw await rollBack(runner, plan, options, results, plan.parts[failedAt]!.part.name, failure.error);
  }
  // Every part is in: late read-backs stop, and what they finished in time is kept.
  settled.abort();
  const records: Record<string, string> = {};
  const unchanged: string[] = [];
  await Promise.all(
    plan.parts.map(async (entry, i) => {
      const run = results[i] as { result: PartApplyResult };
      if (run.result.unchanged) unchanged.push(entry.part.name);
      const record = await Promise.resolve(run.result.record).catch(() => undefined);
      if (record !== undefined) records[entry.part.name] = record;
    }),
  );
  unchanged.sort((a, b) => plan.parts.findIndex((p) => p.part.name === a) - plan.parts.findIndex((p) => p.part.name === b));
  return { unchanged, records, warnings: await settle(runner, plan, options) };
}

/** After success: each part's clean-up, then parts the plan in force had and the new one has not are stopped (reverse order). */
async function settle(runner: KernelRunner, plan: LoadedPlan, options: RunPartsOptions): Promise<string[]> {
  const warnings: string[] = [];
  for (const entry of plan.parts) {
    if (!entry.part.settle) continue;
    await entry.part.settle(runner, entry.content, beforeOf(options, entry.part.name)?.content).catch((e: unknown) => {
      warnings.push(`clean-up of part ${entry.part.name} failed: ${describeReason(e)}`);
    });
  }
  const held = new Set(plan.parts.map((p) => p.part.name));
  for (const gone of [...(options.before?.parts ?? [])].reverse()) {
    if (held.has(gone.part.name)) continue;
    await gone.part.stop(runner, gone.content).catch((e: unknown) => {
      warnings.push(`removing part ${gone.part.name}, which the new plan no longer has, failed: ${describeReason(e)}`);
    });
  }
  return warnings;
}

async function rollBack(
  runner: KernelRunner,
  plan: LoadedPlan,
  options: RunPartsOptions,
  results: Run[],
  failedPart: string,
  reason: unknown,
): Promise<PartFailure> {
  const hadBefore = options.before !== undefined;
  let why = 'there was no previous plan';
  try {
    for (let i = plan.parts.length - 1; i >= 0; i--) {
      const run = results[i]!;
      if (run.status === 'skipped' || (run.status === 'applied' && run.result.unchanged)) continue;
      const entry = plan.parts[i]!;
      const before = beforeOf(options, entry.part.name)?.content;
      try {
        await entry.part.rollback(runner, { failed: entry.content, ...(before !== undefined ? { before } : {}), completed: run.status === 'applied' });
      } catch (e) {
        throw new PartFailure(entry.part.name, e, 'unknown', '');
      }
    }
    if (hadBefore) return new PartFailure(failedPart, reason, 'previous', 'the previous plan is back in force');
    return new PartFailure(failedPart, reason, 'stopped', 'there was no previous plan, so the stopped ruleset is loaded (closed, not open)');
  } catch (e) {
    why = `${hadBefore ? 'restoring the previous plan' : 'undoing the new plan'} failed too (${describeReason(e)})`;
  }
  // Last resort: the new plan's stopped state for every part, so the firewall is closed, never open.
  try {
    for (const entry of [...plan.parts].reverse()) await entry.part.stop(runner, entry.content);
    return new PartFailure(failedPart, reason, 'stopped', `${why}, so the stopped ruleset is loaded (closed, not open)`);
  } catch (e) {
    return new PartFailure(failedPart, reason, 'unknown', `${why}, and loading the stopped ruleset failed too (${describeReason(e)}): check the kernel now`);
  }
}

/** Stops every part, in reverse order (`gatehouse stop`). */
export async function stopParts(runner: KernelRunner, plan: LoadedPlan): Promise<void> {
  for (const entry of [...plan.parts].reverse()) {
    try {
      await entry.part.stop(runner, entry.content);
    } catch (e) {
      throw new GatehouseError(`stopping part ${entry.part.name} failed: ${describeReason(e)}`, { cause: e });
    }
  }
}

export type { AnyPlanPart };
