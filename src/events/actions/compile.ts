/**
 * `compile`: the one compile entry (src/plan) on the expanded $ROOT/etc/shorewall (and
 * etc/shorewall6 when present), into plan/next in one rename. Nothing is written when the
 * files are wrong, so the event stops before `apply` with the running plan untouched.
 * Outside dry-run, when the files may name one (`&red0` in port forwards), the addresses of
 * the target's interfaces are read from the target and recorded in the plan; in dry-run the
 * compiler falls back to address types.
 */
import { createKernelRunner } from '../../apply/index.js';
import { readDatabase } from '../../db/index.js';
import { localTimeZone, rulesWithTimeWindows, timeWindowsHorizon } from '../../model/index.js';
import { type Plan, type TimeWindowsRecord, compilePlan, defaultPlanSources, planPaths, readInterfaceAddresses, timeWindowsRecord, writeNextPlan } from '../../plan/index.js';
import { QOS_FILE, kernelFallbackWarnings } from '../../qos/index.js';
import type { ActionContext } from './index.js';

export async function compileAction(context: ActionContext): Promise<void> {
  const mode = context.applyMode;
  const plan = await compilePlan({
    ...defaultPlanSources(context.root),
    ...(mode.kind === 'dry-run' ? {} : { interfaceAddresses: async () => (await readInterfaceAddresses(createKernelRunner(mode))) ?? {} }),
  });
  // The model's warnings of this event (records skipped or without effect) stay with the plan,
  // and so do the traffic-shaping fallbacks the target's kernel will force (what it lacks).
  plan.summary.notes.push(...context.warnings.map((w) => `warning: ${w}`));
  const fireqos = plan.parts['qos']?.[QOS_FILE];
  if (fireqos !== undefined && mode.kind !== 'dry-run') {
    plan.summary.notes.push(...(await kernelFallbackWarnings(createKernelRunner(mode), fireqos)).map((w) => `warning: traffic shaping: ${w}`));
  }
  plan.inputs.timeWindows = await timeWindowsOfPlan(context.root, plan);
  const windows = plan.inputs.timeWindows;
  if (windows.holdsUntil !== undefined) context.log(`time windows of ${windows.rules.length} rule${windows.rules.length === 1 ? '' : 's'} hold until ${windows.holdsUntil} (${windows.timeZone})`);
  await writeNextPlan(context.root, plan);
  const out = planPaths(context.root).next;
  const s = plan.summary;
  const addresses = plan.inputs.interfaceAddresses;
  context.log(
    `compiled into ${out}: IPv4 ${s.v4.chains} chains ${s.v4.rules} rules, IPv6 ${s.v6.chains} chains ${s.v6.rules} rules, ${s.ipsets} ipsets` +
      (addresses ? `, addresses of ${Object.keys(addresses).length} interfaces` : ''),
  );
  for (const note of s.notes) if (!note.startsWith('warning: ')) context.log(`note: ${note}`);
  for (const detail of s.details) context.log(`inert: ${detail}`);
}

/**
 * An event's moment is taken this long before the compile: the templates converted the
 * time windows a little earlier in the same event, so the horizon recorded is never later
 * than theirs. At worst a change just inside their horizon is named as the end, and the
 * windows are renewed a few months early.
 */
const EXPANDED_BEFORE_MS = 86_400_000;

/**
 * How long the plan's time windows hold (PlanInputs.timeWindows). Only a ruleset with a
 * time match (`-m time`) costs reading the databases: the rules with a window and the zone.
 */
async function timeWindowsOfPlan(root: string, plan: Plan): Promise<TimeWindowsRecord> {
  const filters = [plan.parts['filter.v4']?.['rules.v4'], plan.parts['filter.v6']?.['rules.v6']];
  if (!filters.some((text) => text?.includes(' -m time ') === true)) return timeWindowsRecord([]);
  const [configuration, fwrules] = await Promise.all([readDatabase(root, 'configuration'), readDatabase(root, 'fwrules')]);
  const rules = rulesWithTimeWindows(fwrules);
  if (rules.length === 0) return timeWindowsRecord([]);
  return timeWindowsRecord(rules, timeWindowsHorizon(localTimeZone(configuration), new Date(Date.now() - EXPANDED_BEFORE_MS)));
}
