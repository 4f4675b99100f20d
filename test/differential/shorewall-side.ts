/**
 * Real Shorewall as the reference: a copy of a Shorewall directory is compiled by
 * `shorewall compile` (or `shorewall6 compile`) inside the lab's gateway namespace, so
 * capabilities are probed there, and the compiled script is started in that namespace.
 *
 * The copy's shorewall.conf is adapted so nothing outside the work folder and the
 * namespace changes: CONFIG_PATH no longer includes /etc/shorewall (the host's files
 * must not leak in), LOGFILE and STARTUP_LOG point into the work folder, and
 * MODULESDIR names an empty folder so the script loads no kernel module. VARDIR comes
 * from the environment, which the compiled script honours.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export type Family = 4 | 6;

const PRODUCT: Record<Family, { cli: string; conf: string; share: string }> = {
  4: { cli: 'shorewall', conf: 'shorewall.conf', share: '/usr/share/shorewall' },
  6: { cli: 'shorewall6', conf: 'shorewall6.conf', share: '/usr/share/shorewall6:/usr/share/shorewall' },
};

/** Why real Shorewall cannot be the reference here, or undefined when it can. */
export function shorewallUnavailableReason(): string | undefined {
  for (const tool of ['shorewall', 'shorewall6']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

/** Settings the harness overrides in the copy, and why (see the file comment). */
function harnessSettings(family: Family, work: string): Record<string, string> {
  return {
    // Debian's sample configurations ship STARTUP_ENABLED=No, which makes `start` refuse.
    STARTUP_ENABLED: 'Yes',
    CONFIG_PATH: `"${PRODUCT[family].share}"`,
    LOGFILE: join(work, 'firewall.log'),
    STARTUP_LOG: join(work, `startup${family}.log`),
    MODULESDIR: join(work, 'no-modules'),
  };
}

/** Copies `source` to `dest`, replacing (or adding) the harness's settings in the conf file. */
export async function adaptedCopy(source: string, dest: string, family: Family, work: string): Promise<void> {
  await cp(source, dest, { recursive: true });
  await mkdir(join(work, 'no-modules'), { recursive: true });
  const confPath = join(dest, PRODUCT[family].conf);
  const original = await readFile(confPath, 'utf8').catch(() => '');
  const overrides = harnessSettings(family, work);
  const kept = original.split('\n').filter((line) => !Object.keys(overrides).some((k) => line.startsWith(`${k}=`)));
  const added = Object.entries(overrides).map(([k, v]) => `${k}=${v}`);
  await writeFile(confPath, `${kept.join('\n').trimEnd()}\n# differential harness\n${added.join('\n')}\n`);
}

export interface ShorewallRun {
  /** The compiled script's path. */
  script: string;
  output: string;
}

/**
 * The environment both the compiler and the script run with. Shorewall's compiler sources
 * `params` under `set -a` and parses the shell's `export -p`, so every variable of the
 * caller's environment passes through that parser; a value with embedded quotes (npm
 * sets npm_lifecycle_script to one under `npx vitest`) is misparsed and written into the
 * compiled script as a broken assignment that fails at run time ("Syntax error: ";;"
 * unexpected"). Any directory with a params file, even an empty one, triggers it.
 */
function cleanEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', ...extra };
}

/**
 * `shorewall[6] compile` inside the namespace, then the script's `start` there. The
 * namespace must not have run Shorewall before: `start` of a product already started
 * (its `shorewall` chain exists) says "already Running", exits 0 and loads nothing, so
 * callers use a fresh lab per load; that case is refused here rather than trusted.
 */
export async function compileAndStart(namespace: string, dir: string, family: Family, work: string): Promise<ShorewallRun> {
  const stamp = `${family}-${randomBytes(4).toString('hex')}`;
  const script = join(work, `firewall${stamp}`);
  const clean = { extendEnv: false, reject: false, all: true } as const;
  const compiled = await execa('ip', ['netns', 'exec', namespace, PRODUCT[family].cli, 'compile', dir, script], { ...clean, env: cleanEnvironment() });
  if (compiled.exitCode !== 0) throw new Error(`${PRODUCT[family].cli} compile ${dir} failed:\n${String(compiled.all)}`);
  // VARDIR only for the script (the compiler refuses it in the environment), fresh per load.
  const env = cleanEnvironment({ VARDIR: join(work, `var${stamp}`) });
  const started = await execa('ip', ['netns', 'exec', namespace, script, 'start'], { ...clean, env });
  const output = String(started.all);
  if (started.exitCode !== 0 || /already Running/i.test(output)) throw new Error(`${script} start did not load the ruleset:\n${output}`);
  return { script, output: `${String(compiled.all)}\n${output}` };
}

/** Names, sizes, modes and content digests of every file under the given folders. */
export async function fingerprint(paths: string[]): Promise<string> {
  const lines: string[] = [];
  const visit = async (path: string): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (!info) {
      lines.push(`${path} absent`);
      return;
    }
    if (info.isDirectory()) {
      lines.push(`${path}/ ${info.mode.toString(8)}`);
      for (const name of (await readdir(path)).sort()) await visit(join(path, name));
      return;
    }
    const digest = createHash('sha256').update(await readFile(path)).digest('hex');
    lines.push(`${path} ${info.mode.toString(8)} ${info.size} ${digest}`);
  };
  for (const p of paths) await visit(p);
  return lines.join('\n');
}
