/**
 * `db <dbname> <verb> [args...]`: NethServer 7's db command over Gatehouse databases.
 *
 * The grammar is positional and values are raw (a value may start with `-`), so the
 * options (`--root DIR`, `--force`, `--help`) are read only before the verb, plus
 * `--force` after `delete`'s key. A well-formed command is run directly; anything else
 * (help, unknown verbs or options, wrong argument counts) goes through yargs, which
 * prints the help or the usage error. Loading yargs costs more than node itself starts
 * in, so a well-formed `db ... getprop` must not pay for it.
 */
import { GatehouseError, describeError, isGatehouseError } from '../errors/index.js';
import { resolveRoot } from '../layout/index.js';
import { writeOutput } from './run-command.js';
import { type DbCommand, VERBS, argumentProblem, parseCommandLine, runRead, verbUsage } from './db-read.js';

export { type DbCommand, VERBS, argumentProblem, parseCommandLine, verbUsage } from './db-read.js';

/** Exit code of usage errors, as NethServer's Perl `die` gives. */
const USAGE_EXIT = 255;

class UsageError extends Error {}

/** The slow path: yargs parses the options, dbname and verb, for help and usage errors. */
async function explainWithYargs(argv: string[]): Promise<number> {
  const { default: yargs } = await import('yargs');
  // Only the part up to the verb is yargs' business; verb arguments are raw values.
  let seen = 0;
  let cut = argv.length;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root') i++;
    else if (!a.startsWith('-') || a === '-') {
      if (++seen === 2) {
        cut = i + 1;
        break;
      }
    }
  }
  const head = argv.slice(0, cut);
  const rest = argv.slice(cut);
  const verbList = Object.entries(VERBS)
    .map(([v, s]) => `  ${v.padEnd(10)} ${s.args.padEnd(38)} ${s.describe}`)
    .join('\n');
  const parser = yargs(head)
    .scriptName('db')
    .usage('db [--root DIR] <dbname> <verb> [args...]\n\nNethServer-style key/prop databases under $ROOT/var/lib/gatehouse/db.')
    .command('$0 <dbname> <verb>', false, (y) =>
      y
        .positional('dbname', { type: 'string', describe: 'database name (configuration, networks, fwrules, ...)' })
        .positional('verb', { type: 'string', choices: Object.keys(VERBS), describe: 'what to do' }),
    )
    .option('root', { type: 'string', describe: 'runtime root (default: GATEHOUSE_ROOT, else /)' })
    .option('force', { type: 'boolean', describe: 'delete even when other records reference the key' })
    .parserConfiguration({ 'parse-positional-numbers': false })
    .epilogue(`Verbs:\n${verbList}`)
    .strict()
    .help()
    .version(false)
    .wrap(null)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  let helped = false;
  try {
    const parsed = await parser.parseAsync();
    if (parsed['help']) helped = true;
    const verb = String(parsed['verb'] ?? '');
    if (!helped && Object.hasOwn(VERBS, verb)) {
      const args = verb === 'delete' ? rest.filter((a) => a !== '--force') : verb === 'import' ? rest.filter((a) => a !== '--replace') : rest;
      const problem = argumentProblem(verb, args);
      throw new UsageError(problem ?? 'cannot read this command line');
    }
  } catch (e) {
    const positionals = head.filter((a, i) => !a.startsWith('-') && head[i - 1] !== '--root');
    const given = positionals[1];
    const msg =
      given !== undefined && !Object.hasOwn(VERBS, given)
        ? `unknown verb '${given}' (valid: ${Object.keys(VERBS).join(', ')})`
        : e instanceof Error
          ? e.message
          : String(e);
    const verb = head.find((a, i) => i > 0 && Object.hasOwn(VERBS, a));
    const usage = verb ? verbUsage(verb) : 'db [--root DIR] <dbname> <verb> [args...]; db --help lists the verbs';
    process.stderr.write(`db: ${msg.replace(/\s*\n\s*/g, '; ')} (usage: ${usage})\n`);
    return USAGE_EXIT;
  }
  return helped ? 0 : USAGE_EXIT;
}

function out(text: string): void {
  writeOutput(text);
}

function pairs(args: string[]): Record<string, string> {
  const props: Record<string, string> = {};
  for (let i = 0; i + 1 < args.length; i += 2) {
    if (args[i] === '__proto__') {
      throw new GatehouseError(`'__proto__' cannot be used as a prop name`, { hint: 'choose another name' });
    }
    props[args[i]!] = args[i + 1]!;
  }
  return props;
}

async function readInput(arg: string): Promise<{ text: string; source: string }> {
  // node:fs/promises loaded here only: every other command would pay for it at start.
  if (arg !== '-') return { text: await process.getBuiltinModule('node:fs/promises').readFile(arg, 'utf8'), source: arg };
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return { text: Buffer.concat(chunks).toString('utf8'), source: '<stdin>' };
}

/** Run one parsed command; returns the exit code. */
async function run(cmd: DbCommand): Promise<number> {
  const root = resolveRoot(cmd.root);
  return (await runRead(cmd, root)) ?? runWrite(cmd, root);
}

async function runWrite(cmd: DbCommand, root: string): Promise<number> {
  const ops = await import('../db/index.js');
  const { db: name, args } = cmd;
  const key = args[0]!;
  switch (cmd.verb) {
    case 'set':
      await ops.setRecord(root, name, key, args[1]!, pairs(args.slice(2)));
      return 0;
    case 'setdefault':
      await ops.setDefaultRecord(root, name, key, args[1]!, pairs(args.slice(2)));
      return 0;
    case 'setprop':
      await ops.setProps(root, name, key, pairs(args.slice(1)));
      return 0;
    case 'settype':
      await ops.setType(root, name, key, args[1]!);
      return 0;
    case 'delprop':
      await ops.deleteProps(root, name, key, args.slice(1));
      return 0;
    case 'delete':
      await ops.deleteRecord(root, name, key, { force: cmd.force });
      return 0;
    case 'setjson': {
      const input = key === '-' ? await readInput('-') : { text: key, source: '<argument>' };
      await ops.setRecords(root, name, ops.parseJsonEntries(input.text, input.source));
      return 0;
    }
    case 'import': {
      const input = await readInput(key).catch((e: NodeJS.ErrnoException) => {
        throw new GatehouseError(`cannot read the import file (${e.code ?? e.message})`, { place: { file: key } });
      });
      const report = await ops.importDatabase(root, name, input.text, input.source, { replace: cmd.replace === true });
      out(ops.formatImportReport(report));
      // The usable records are in; a refused one still makes the command fail, so scripts notice.
      return report.fates.some((f) => f.fate === 'refused') ? 1 : 0;
    }
  }
  throw new Error(`verb ${cmd.verb} has no handler`);
}

export async function main(argv: string[]): Promise<number> {
  const cmd = parseCommandLine(argv);
  if (!cmd) return explainWithYargs(argv);
  try {
    return await run(cmd);
  } catch (e) {
    process.stderr.write(`db: ${describeError(e)}\n`);
    return isGatehouseError(e) ? e.exitCode : 1;
  }
}

/** Ends the process once all output is written (bin/db.js). */
export { runCommand } from './run-command.js';
