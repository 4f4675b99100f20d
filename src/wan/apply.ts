/**
 * Applying a routing spec to a target: read the target (addresses, learned gateways,
 * Gatehouse's current rules), build one `ip -batch` with the provider states, run it.
 * A failure puts back what was there and names the batch line the kernel refused.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelRunner } from '../plan/target.js';
import { type ProviderState, type RoutingBatch, type RoutingSpec, cleanupCommands, routingBatch, routingIsEmpty } from '../compile/index.js';
import { GatehouseError } from '../errors/index.js';
import { readProviderStatesIn, wanDir } from './state.js';

import { type RoutingSnapshot, parseTargetRouting, restoreCommands } from './target.js';

export interface RoutingApplyResult {
  batch: RoutingBatch;
  /** Milliseconds: reading the target, and running the batch. */
  readMs: number;
  applyMs: number;
  skipped: boolean;
  /** Main default routes found in place (and removed when providers exist). */
  replacedDefaults: string[][];
}

export async function readRoutingSpec(planDir: string): Promise<RoutingSpec | undefined> {
  const file = join(planDir, 'routing.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as RoutingSpec;
}

/** One process reads addresses, routes and rules (one JSON array per line). */
export async function readTarget(runner: KernelRunner): Promise<RoutingSnapshot> {
  const out = await runner.run({ step: 'ip -batch (read routing)', command: 'ip', args: ['-4', '-j', '-batch', '-'], input: 'addr show\nroute show table all\nrule show\n', inputName: 'routing read' });
  const [addr, route, rule] = out.split('\n').filter((l) => l.startsWith('['));
  if (rule === undefined) throw new GatehouseError('could not read the target routing (ip -j -batch gave fewer than three answers)', { hint: 'is iproute2 recent enough for -j?' });
  return parseTargetRouting(addr!, route!, rule);
}

async function runBatch(runner: KernelRunner, commands: string[], step: string): Promise<void> {
  if (commands.length === 0) return;
  await runner.run({ step, command: 'ip', args: ['-4', '-batch', '-'], input: commands.join('\n') + '\n', inputName: 'routing batch' });
}

export async function applyRoutingSpec(
  runner: KernelRunner,
  spec: RoutingSpec,
  states: Record<string, ProviderState>,
): Promise<RoutingApplyResult> {
  const t0 = performance.now();
  const snapshot = runner.mode.kind === 'dry-run' ? parseTargetRouting('[]', '[]', '[]') : await readTarget(runner);
  const readMs = performance.now() - t0;
  const batch = routingBatch(spec, states, snapshot.target);
  // Nothing asked and nothing of ours in place: routing is not Gatehouse's business here.
  if (routingIsEmpty(spec) && snapshot.rules.length === 0 && snapshot.routes.length === 0) return { batch, readMs, applyMs: 0, skipped: true, replacedDefaults: [] };
  const t1 = performance.now();
  try {
    await runBatch(runner, batch.commands, 'ip -batch (routing)');
  } catch (e) {
    // Put back what was there: remove whatever the partial batch left, then the snapshot.
    const now = await readTarget(runner).catch(() => snapshot);
    await runBatch(runner, [...cleanupCommands(now.target), ...restoreCommands(snapshot)], 'ip -batch (routing rollback)').catch(() => undefined);
    throw new GatehouseError(`routing was not applied: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'the routes and rules that were in place are back; check the providers and routes files',
      cause: e,
    });
  }
  return { batch, readMs, applyMs: performance.now() - t1, skipped: false, replacedDefaults: snapshot.target.mainDefaults };
}

/** The states as the batch wants them. */
export function providerStates(root: string): Promise<Record<string, ProviderState>> {
  return statesIn(wanDir(root));
}

export const EMPTY_ROUTING: RoutingSpec = { providers: [], rtrules: [], routes: [] };

/**
 * Marks a target that holds Gatehouse routing, with the main-table default routes the
 * providers replaced: removing the last provider cleans up and puts those back.
 */
const activeMarker = (stateDir: string): string => join(stateDir, 'routing-active.json');

interface ActiveRouting {
  target: string;
  /** `ip route` arguments of the main default routes found before the providers took over. */
  replacedDefaults: string[][];
}

/** States of the providers kept in `stateDir` (none: every provider is up). */
export async function statesIn(stateDir: string | undefined): Promise<Record<string, ProviderState>> {
  if (stateDir === undefined) return {};
  const records = await readProviderStatesIn(stateDir);
  return Object.fromEntries(Object.entries(records).map(([k, v]) => [k, v.state]));
}

/**
 * Applies a routing spec with the provider states of `stateDir`. An empty spec costs
 * nothing unless Gatehouse routing is still in place from before: then it is removed and
 * the default routes the providers replaced are put back.
 */
export async function applyRoutingWith(
  runner: KernelRunner,
  spec: RoutingSpec,
  stateDir: string | undefined,
  /** States that differ from the recorded ones for this apply only (a dry-run wan-uplink-update). */
  override: Record<string, ProviderState> = {},
): Promise<RoutingApplyResult | undefined> {
  const marker = stateDir === undefined ? undefined : await readFile(activeMarker(stateDir), 'utf8').then((t) => JSON.parse(t) as ActiveRouting, () => undefined);
  const dry = runner.mode.kind === 'dry-run';
  if (routingIsEmpty(spec) && (!marker || dry)) return undefined;
  const result = await applyRoutingSpec(runner, spec, { ...(await statesIn(stateDir)), ...override });
  if (dry || stateDir === undefined) return result;
  if (routingIsEmpty(spec)) {
    const back = (marker?.replacedDefaults ?? []).map((d) => `route replace ${d.join(' ')}`);
    await runBatch(runner, back, 'ip -batch (main default routes back)').catch((e: unknown) =>
      result.batch.warnings.push(`the default routes replaced by the providers could not be put back: ${e instanceof Error ? e.message : String(e)}`),
    );
    await rm(activeMarker(stateDir), { force: true });
  } else {
    const replaced = marker?.replacedDefaults ?? (spec.providers.length > 0 ? result.replacedDefaults : []);
    await mkdir(stateDir, { recursive: true });
    const record: ActiveRouting = { target: runner.mode.kind === 'netns' ? runner.mode.name : runner.mode.kind, replacedDefaults: replaced };
    await writeFile(activeMarker(stateDir), JSON.stringify(record) + '\n');
  }
  return result;
}

export function describeRouting(result: RoutingApplyResult): string[] {
  if (result.skipped) return ['routing: no providers or static routes, left alone'];
  const lines = result.batch.providers.map(
    (p) => `provider ${p.name} (${p.interface}) ${p.state}${p.routing ? ', carrying new connections' : ''}${p.gateway ? ` via ${p.gateway}` : ''}${p.problem ? `: ${p.problem}` : ''}`,
  );
  lines.push(`routing: ${result.batch.commands.length} ip commands in ${result.applyMs.toFixed(1)} ms (target read ${result.readMs.toFixed(1)} ms)`);
  return [...lines, ...result.batch.warnings.map((w) => `warning: ${w}`)];
}
