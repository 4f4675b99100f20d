/**
 * `gatehouse compile` without yargs: the command an administrator types most, in a bundle
 * of its own (dist/bin/compile.cjs, picked by bin/gatehouse.js). Loading yargs and the
 * whole command's ESM chunks was about a tenth of a 5,000-rule compile.
 *
 * Only the plain forms are read here (`--name value`, `--name=value`, the three flags);
 * anything else (help, an unknown or repeated option, `--no-check`, a value that looks like
 * an option) gives undefined, and the launcher runs the whole command, whose parser
 * answers it as before. Both end in the same runCompile.
 */
import { describeError, isGatehouseError } from '../errors/index.js';
import { type CompileArgs, runCompile } from './gatehouse/compile.js';

const STRINGS = new Set(['root', 'dir', 'dir6', 'out', 'apply', 'addresses']);
const FLAGS = new Set(['check', 'verbose', 'explain']);

/** `compile ARGS...` read as yargs would read these plain forms, or undefined for any other form. */
export function readCompileArgs(argv: readonly string[]): CompileArgs | undefined {
  if (argv[0] !== 'compile') return undefined;
  const args: Record<string, string | boolean> = { check: false, verbose: false, explain: false };
  const seen = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('--')) return undefined;
    const eq = word.indexOf('=');
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    if (seen.has(name)) return undefined;
    seen.add(name);
    if (FLAGS.has(name) && eq < 0) args[name] = true;
    else if (STRINGS.has(name)) {
      const value = eq >= 0 ? word.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || value.startsWith('-')) return undefined;
      args[name] = value;
    } else return undefined;
  }
  return args as CompileArgs;
}

/** Runs `gatehouse compile` when its arguments are in a plain form; undefined (nothing done) otherwise. */
export async function mainCompile(argv: readonly string[]): Promise<number | undefined> {
  const args = readCompileArgs(argv);
  if (args === undefined) return undefined;
  try {
    await runCompile(args);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    process.stderr.write(`gatehouse: ${describeError(e)}\n`);
    return isGatehouseError(e) ? e.exitCode : 1;
  }
}

export { runCommand } from './run-command.js';
