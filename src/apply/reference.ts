/**
 * What the kernel should show for a plan, found without touching the kernel in force:
 * the plan's sets and rulesets are loaded into a scratch network namespace and read back
 * with iptables-save. This replaces reading the real kernel back after every apply (an
 * iptables-save of 5,000 rules on the apply's critical path); `gatehouse status`
 * compares the real kernel with it and keeps the result beside the plan.
 */
import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors/index.js';
import { type Family, type KernelSnapshot, saveCommand, stoppedRestoreText } from './kernel.js';
import { normaliseSave } from './normalise.js';
import type { Plan } from './plan.js';
import { createKernelRunner } from './runner.js';

export type PlanState = 'running' | 'stopped';

/** The normalised saves of `families` once `plan` (or its stopped ruleset) is loaded into an empty namespace. */
export async function referenceSnapshot(
  plan: Plan,
  state: PlanState,
  families: readonly Family[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Partial<KernelSnapshot>> {
  if (families.length === 0) return {};
  const { execa } = await import('execa'); // lazy: importing execa costs ~70 ms
  const name = `gh-ref-${process.pid}-${randomBytes(3).toString('hex')}`;
  const made = await execa('ip', ['netns', 'add', name], { env, reject: false });
  if (made.failed) {
    throw new GatehouseError(`cannot make a scratch namespace to work out what the kernel should hold: ${String(made.stderr).trim() || made.shortMessage}`, {
      hint: 'run as root, with iproute2 installed',
    });
  }
  try {
    const runner = createKernelRunner({ kind: 'netns', name }, { env });
    // Rules name sets, so the sets must exist; their entries never show in a save.
    if (state === 'running' && plan.ipsets.length > 0) {
      const creates = plan.ipsets.map((s) => `create ${s.name} ${s.spec}`).join('\n') + '\n';
      await runner.run({ step: 'ipset restore (reference sets)', command: 'ipset', args: ['restore'], input: creates });
    }
    const saves = await Promise.all(
      families.map(async (family) => {
        const command = family === 'v4' ? 'iptables-restore' : 'ip6tables-restore';
        const file = `${state === 'running' ? 'rules' : 'stopped'}.${family}` as const;
        const text = state === 'running' ? plan.files[file] : stoppedRestoreText(plan.files[file], `${plan.dir}/${file}`);
        await runner.run({ step: `${command} (${file}, reference)`, command, args: [], input: text });
        return [family, normaliseSave(await runner.run(saveCommand(family)))] as const;
      }),
    );
    return Object.fromEntries(saves);
  } finally {
    await execa('ip', ['netns', 'del', name], { env, reject: false });
  }
}
