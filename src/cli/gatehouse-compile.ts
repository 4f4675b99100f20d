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
import { parseArgs } from 'node:util';
import { describeError, isGatehouseError } from '../errors/index.js';
import { type CompileArgs, runCompile } from './gatehouse/compile.js';

const text = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;
const OPTIONS = { root: text, dir: text, dir6: text, out: text, apply: text, addresses: text, check: flag, verbose: flag, explain: flag };

/** `compile ARGS...` read as yargs would read these plain forms, or undefined for any other form. */
export function readCompileArgs(argv: readonly string[]): CompileArgs | undefined {
  if (argv[0] !== 'compile') return undefined;
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true; allowPositionals: false; tokens: true }>>;
  try {
    // Strict: an unknown option, a positional, a flag given a value or a value that looks
    // like an option throws, and the whole command's parser answers it instead.
    parsed = parseArgs({ args: argv.slice(1), options: OPTIONS, strict: true, allowPositionals: false, tokens: true });
  } catch {
    return undefined;
  }
  // yargs makes a repeated option a list and reads `--`; an empty value is a usage error there.
  const names = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || names.has(token.name) || token.value === '') return undefined;
    names.add(token.name);
  }
  const { check = false, verbose = false, explain = false, ...strings } = parsed.values;
  return { ...strings, check, verbose, explain };
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
