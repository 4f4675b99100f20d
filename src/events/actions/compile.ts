/**
 * `compile`: the one compile entry (src/plan) on the expanded $ROOT/etc/shorewall (and
 * etc/shorewall6 when present), into plan/next in one rename. Nothing is written when the
 * files are wrong, so the event stops before `apply` with the running plan untouched.
 * Outside dry-run, when the files may name one (`&red0` in port forwards), the addresses of
 * the target's interfaces are read from the target and recorded in the plan; in dry-run the
 * compiler falls back to address types.
 */
import { createKernelRunner } from '../../apply/index.js';
import { compilePlan, defaultPlanSources, planPaths, readInterfaceAddresses, writeNextPlan } from '../../plan/index.js';
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
