/**
 * `gatehouse compile [--root DIR] [--dir DIR] [--dir6 DIR] [--out DIR] [--check]`:
 * reads $ROOT/etc/shorewall (and etc/shorewall6 when it exists), compiles, and writes
 * the plan files into $ROOT/var/lib/gatehouse/plan/next (or --out) in one rename.
 * --check validates only. Nothing is written when anything is wrong.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { compile, planFiles, type PlanSummary } from '../../compile/index.js';
import { resolveRoot, runtimePaths } from '../../layout/index.js';
import { parseShorewall, readShorewallDir } from '../../shorewall/index.js';

interface CompileArgs {
  root?: string;
  dir?: string;
  dir6?: string;
  out?: string;
  check?: boolean;
  verbose?: boolean;
}

/** Writes every file into a fresh sibling folder, then swaps it in with renames. */
async function writePlanDir(out: string, files: Record<string, string>): Promise<void> {
  const parent = dirname(out);
  await mkdir(parent, { recursive: true });
  const staging = join(parent, `.${basename(out)}.tmp-${process.pid}`);
  const previous = join(parent, `.${basename(out)}.old-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  try {
    for (const name of Object.keys(files).sort()) await writeFile(join(staging, name), files[name] ?? '');
    if (existsSync(out)) await rename(out, previous);
    await rename(staging, out);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(previous, { recursive: true, force: true });
  }
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

export const command: CommandModule<object, CompileArgs> = {
  command: 'compile',
  describe: 'compile the Shorewall-style files into a plan (rulesets, ipsets, sysctl)',
  builder: (y) =>
    y
      .option('root', { type: 'string', describe: 'runtime root (default: GATEHOUSE_ROOT or /)' })
      .option('dir', { type: 'string', describe: 'IPv4 Shorewall directory (default: $ROOT/etc/shorewall)' })
      .option('dir6', { type: 'string', describe: 'IPv6 Shorewall directory (default: $ROOT/etc/shorewall6 when it exists)' })
      .option('out', { type: 'string', describe: 'plan directory (default: $ROOT/var/lib/gatehouse/plan/next)' })
      .option('check', { type: 'boolean', default: false, describe: 'validate only; write nothing' })
      .option('verbose', { type: 'boolean', default: false, describe: 'also list what was read without effect (inert settings, documentation files)' }) as never,
  handler: async (args) => {
    const root = resolveRoot(args.root);
    const paths = runtimePaths(root);
    const dir = resolve(args.dir ?? paths.shorewall);
    const dir6 = args.dir6 !== undefined ? resolve(args.dir6) : args.dir === undefined && existsSync(paths.shorewall6) ? paths.shorewall6 : undefined;
    const v4 = parseShorewall(await readShorewallDir(dir), { family: 4, dir });
    const v6 = dir6 === undefined ? undefined : parseShorewall(await readShorewallDir(dir6), { family: 6, dir: dir6 });
    const plan = compile(v4, v6);
    const sources = dir6 === undefined ? `${dir} (IPv4, IPv6 derived)` : `${dir} (IPv4) and ${dir6} (IPv6)`;
    if (args.check) {
      process.stdout.write(`checked ${sources}: valid\n${formatSummary(plan.summary, args.verbose)}`);
      return;
    }
    const out = resolve(args.out ?? join(paths.planDir, 'next'));
    await writePlanDir(out, planFiles(plan));
    process.stdout.write(`compiled ${sources}\n${formatSummary(plan.summary, args.verbose)}wrote ${out}\n`);
  },
};
