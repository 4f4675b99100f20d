/**
 * `gatehouse compile [--root DIR] [--dir DIR] [--dir6 DIR] [--out DIR] [--apply MODE] [--addresses FILE] [--check] [--explain]`:
 * the one compile entry (src/plan, shared with the `compile` event action) on
 * $ROOT/etc/shorewall (and etc/shorewall6 when it exists), written into
 * $ROOT/var/lib/gatehouse/plan/next (or --out) in one rename. The target's interface
 * addresses come from --addresses (`ip -j addr show` output) or, outside dry-run, from the
 * target itself, and are recorded in the plan. --check validates only. Nothing is written
 * when anything is wrong.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
// The module it uses, not the apply layer's index: `gatehouse compile` has a bundle of its
// own (../gatehouse-compile.ts), which should not hold the apply layer.
import { resolveApplyMode } from '../../apply/mode.js';
import type { PlanSummary } from '../../compile/index.js';
import { GatehouseError } from '../../errors/index.js';
import { resolveRoot, runtimePaths } from '../../layout/index.js';
// The plan modules it uses, not the plan's index (which holds every part's apply code).
import { type PlanSources, compilePlan, defaultPlanSources, describePlanSources, parseInterfaceAddresses, readInterfaceAddresses } from '../../plan/compile.js';
import { type PlanOrigins, describeOrigin } from '../../plan/origins.js';
import { writeNextPlan, writePlanDir } from '../../plan/store.js';

export interface CompileArgs {
  root?: string;
  dir?: string;
  dir6?: string;
  out?: string;
  apply?: string;
  addresses?: string;
  check?: boolean;
  verbose?: boolean;
  explain?: boolean;
}

export function formatSummary(summary: PlanSummary, verbose = false): string {
  const lines: string[] = [];
  for (const [label, s] of [['IPv4', summary.v4], ['IPv6', summary.v6]] as const) {
    const n = s.nat;
    lines.push(
      `${label}: ${s.chains} chains, ${s.rules} rules; NAT: ${n.dnat} DNAT, ${n.redirect} REDIRECT, ${n.snat} SNAT, ${n.masquerade} MASQUERADE, ${n.oneToOne} one-to-one`,
    );
    const pairs = Object.entries(s.rulesPerZonePair).map(([pair, count]) => `${pair} ${count}`);
    lines.push(`  zone pairs: ${pairs.join(', ')}`);
  }
  lines.push(`ipsets: ${summary.ipsets} (${summary.ipsetEntries} entries)`);
  for (const note of summary.notes) lines.push(`note: ${note}`);
  if (verbose) for (const detail of summary.details) lines.push(`inert: ${detail}`);
  return lines.join('\n') + '\n';
}

/** `gatehouse compile --explain`: each rule with an origin, per family, as the kernel will hold it. */
export function formatOrigins(origins: PlanOrigins | undefined): string {
  if (!origins) return '';
  const lines: string[] = [];
  for (const [label, list] of [['IPv4', origins.v4], ['IPv6', origins.v6]] as const) {
    lines.push(`${label}: ${list.length} rules from the files`);
    for (const o of list) lines.push(`  ${describeOrigin(o)}  ${o.table}  ${o.rule}`);
  }
  return lines.join('\n') + '\n';
}

async function addressesFromFile(file: string): Promise<PlanSources['interfaceAddresses']> {
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new GatehouseError(`cannot read ${file}: ${e.message}`, { hint: 'give the output of `ip -j addr show` saved to a file' });
  });
  return parseInterfaceAddresses(text);
}

/** The command's work, once its arguments are read (by yargs, or by ../gatehouse-compile.ts). */
export async function runCompile(args: CompileArgs): Promise<void> {
  const root = resolveRoot(args.root);
  const paths = runtimePaths(root);
  const defaults = defaultPlanSources(root);
  const dir = resolve(args.dir ?? defaults.dir);
  const dir6 = args.dir6 !== undefined ? resolve(args.dir6) : args.dir === undefined ? defaults.dir6 : undefined;
  const mode = resolveApplyMode(root, args.apply);
  const interfaceAddresses: PlanSources['interfaceAddresses'] =
    args.addresses !== undefined
      ? await addressesFromFile(args.addresses)
      : mode.kind === 'dry-run'
        ? undefined
        : async () => {
            // Loaded only here: a compile given its addresses never loads child_process.
            const { createKernelRunner } = await import('../../apply/runner.js');
            return (await readInterfaceAddresses(createKernelRunner(mode))) ?? {};
          };
  const sources: PlanSources = { dir, ...(dir6 !== undefined ? { dir6 } : {}), ...(interfaceAddresses ? { interfaceAddresses } : {}) };
  const plan = await compilePlan(sources);
  if (args.explain) process.stdout.write(formatOrigins(plan.origins));
  if (args.check) {
    process.stdout.write(`checked ${describePlanSources(sources)}: valid\n${formatSummary(plan.summary, args.verbose)}`);
    return;
  }
  let out: string;
  if (args.out === undefined || resolve(args.out) === join(paths.planDir, 'next')) {
    out = join(paths.planDir, 'next');
    await writeNextPlan(root, plan);
  } else {
    out = resolve(args.out);
    await writePlanDir(out, plan);
  }
  process.stdout.write(`compiled ${describePlanSources(sources)}\n${formatSummary(plan.summary, args.verbose)}wrote ${out}\n`);
}

export const command: CommandModule<object, CompileArgs> = {
  command: 'compile',
  describe: 'compile the Shorewall-style files into a plan (rulesets, ipsets, sysctl)',
  builder: (y) =>
    y
      .option('root', { type: 'string', describe: 'runtime root (default: GATEHOUSE_ROOT or /)' })
      .option('dir', { type: 'string', describe: 'IPv4 Shorewall directory (default: $ROOT/etc/shorewall)' })
      .option('dir6', { type: 'string', describe: 'IPv6 Shorewall directory (default: $ROOT/etc/shorewall6 when it exists)' })
      .option('out', { type: 'string', describe: 'plan directory (default: $ROOT/var/lib/gatehouse/plan/next)' })
      .option('apply', { type: 'string', describe: 'target whose interface addresses are read for &eth0 (default GATEHOUSE_APPLY; none in dry-run)' })
      .option('addresses', { type: 'string', describe: 'interface addresses from a file (`ip -j addr show` output) instead of the target' })
      .option('check', { type: 'boolean', default: false, describe: 'validate only; write nothing' })
      .option('verbose', { type: 'boolean', default: false, describe: 'also list what was read without effect (inert settings, documentation files)' })
      .option('explain', { type: 'boolean', default: false, describe: 'list every compiled rule with the file, line and database record it came from' }) as never,
  handler: (args) => runCompile(args),
};
