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
import {
  type Database,
  formatEsmithText,
  formatPrint,
  formatPrintProp,
  formatPrintType,
  formatRawValue,
  formatShow,
  getProp,
  getRecord,
  readDatabase,
  toJsonEntries,
  toJsonEntry,
  withVirtualConfiguration,
} from '../db/index.js';

/** Exit code of usage errors, as NethServer's Perl `die` gives. */
const USAGE_EXIT = 255;

interface VerbSpec {
  args: string;
  describe: string;
  min: number;
  max: number;
  /** Index in the args where `prop value` pairs start (their count must be even). */
  pairsFrom?: number;
}

const MANY = Number.POSITIVE_INFINITY;

export const VERBS: Record<string, VerbSpec> = {
  keys: { args: '', describe: 'list the keys, sorted (exit 1 if the db is empty)', min: 0, max: 0 },
  get: { args: '<key>', describe: 'print the raw value type|prop|value...', min: 1, max: 1 },
  getprop: { args: '<key> <prop>', describe: 'print one prop value', min: 2, max: 2 },
  gettype: { args: '<key>', describe: 'print the type', min: 1, max: 1 },
  set: { args: '<key> <type> [prop value ...]', describe: 'create or replace a record', min: 2, max: MANY, pairsFrom: 2 },
  setdefault: { args: '<key> <type> [prop value ...]', describe: 'create a record unless the key exists', min: 2, max: MANY, pairsFrom: 2 },
  setprop: { args: '<key> <prop> <value> [prop value ...]', describe: 'set props of an existing record', min: 3, max: MANY, pairsFrom: 1 },
  settype: { args: '<key> <type>', describe: 'change the type, keeping the props', min: 2, max: 2 },
  delete: { args: '<key> [--force]', describe: 'delete a record (refused while others reference it, unless --force)', min: 1, max: 1 },
  delprop: { args: '<key> <prop> [prop ...]', describe: 'delete props of an existing record', min: 2, max: MANY },
  show: { args: '[key]', describe: 'print records as key=type and indented props', min: 0, max: 1 },
  print: { args: '[key]', describe: 'print key=type|prop|value... lines', min: 0, max: 1 },
  printtype: { args: '[key]', describe: 'print key=type lines', min: 0, max: 1 },
  printprop: { args: '<key> [prop ...]', describe: 'print prop=value lines', min: 1, max: MANY },
  printjson: { args: '[key]', describe: 'print compact JSON', min: 0, max: 1 },
  getjson: { args: '[key]', describe: 'print compact JSON (same as printjson)', min: 0, max: 1 },
  showjson: { args: '[key]', describe: 'print indented JSON', min: 0, max: 1 },
  setjson: { args: '<json|->', describe: 'set records from {name,type,props} JSON (an array or one object; - reads stdin)', min: 1, max: 1 },
  export: { args: '', describe: 'print the database as e-smith text', min: 0, max: 0 },
  import: {
    args: '<file|-> [--replace]',
    describe: "load a NethServer 7 db file or 'db show' text record by record (legacy forms migrated, each record's fate printed; --replace deletes records not in the file)",
    min: 1,
    max: 1,
  },
};

/** A parsed command line. */
export interface DbCommand {
  root: string | undefined;
  force: boolean;
  /** import --replace: the database ends equal to the file. */
  replace?: boolean;
  db: string;
  verb: string;
  args: string[];
}

export function verbUsage(verb: string): string {
  const spec = VERBS[verb];
  return `db <dbname> ${verb}${spec && spec.args ? ` ${spec.args}` : ''}`;
}

/** Why these args do not fit the verb, or undefined. */
export function argumentProblem(verb: string, args: string[]): string | undefined {
  const spec = VERBS[verb]!;
  if (args.length < spec.min) return `${verb}: too few arguments`;
  if (args.length > spec.max) return `${verb}: too many arguments`;
  if (spec.pairsFrom !== undefined && (args.length - spec.pairsFrom) % 2 !== 0) {
    return `${verb}: props and values must come in pairs (odd number of prop/value arguments)`;
  }
  return undefined;
}

/**
 * The fast parser: a command when the line is well formed, else undefined (then yargs
 * takes over to print help or the usage error).
 */
export function parseCommandLine(argv: string[]): DbCommand | undefined {
  let root: string | undefined;
  let force = false;
  const positionals: string[] = [];
  let i = 0;
  for (; i < argv.length && positionals.length < 2; i++) {
    const a = argv[i]!;
    if (a === '--root') {
      const v = argv[++i];
      if (v === undefined) return undefined;
      root = v;
    } else if (a.startsWith('--root=')) root = a.slice('--root='.length);
    else if (a === '--force') force = true;
    else if (a.startsWith('-') && a !== '-') return undefined;
    else positionals.push(a);
  }
  const [db, verb] = positionals;
  if (db === undefined || verb === undefined || !Object.hasOwn(VERBS, verb)) return undefined;
  let args = argv.slice(i);
  if (verb === 'delete' && args.includes('--force')) {
    force = true;
    args = args.filter((a) => a !== '--force');
  }
  let replace = false;
  if (verb === 'import' && args.includes('--replace')) {
    replace = true;
    args = args.filter((a) => a !== '--replace');
  }
  if (argumentProblem(verb, args)) return undefined;
  return { root, force, ...(replace ? { replace } : {}), db, verb, args };
}

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

function missing(cmd: DbCommand, key: string): GatehouseError {
  return new GatehouseError('no such key', { place: { db: cmd.db, key } });
}

/** Run one parsed command; returns the exit code. */
async function run(cmd: DbCommand): Promise<number> {
  const root = resolveRoot(cmd.root);
  const { db: name, args } = cmd;
  const [key] = args;
  // configuration also shows NethServer's read-only SystemName, DomainName and TimeZone.
  const readDb = async (): Promise<Database> => (name === 'configuration' ? withVirtualConfiguration(await readDatabase(root, name)) : readDatabase(root, name));
  /** Records selected by an optional key: undefined when the key is missing. */
  const select = async (): Promise<[string, Database[string]][] | undefined> => {
    const data = await readDb();
    if (key === undefined) return Object.keys(data).sort().map((k) => [k, data[k]!]);
    const rec = getRecord(data, key);
    return rec ? [[key, rec]] : undefined;
  };
  switch (cmd.verb) {
    case 'keys': {
      const keys = Object.keys(await readDb()).sort();
      out(keys.map((k) => `${k}\n`).join(''));
      return keys.length > 0 ? 0 : 1;
    }
    case 'get':
    case 'gettype': {
      const rec = getRecord(await readDb(), key!);
      if (!rec) return 1;
      out(`${cmd.verb === 'get' ? formatRawValue(rec) : rec.type}\n`);
      return 0;
    }
    case 'getprop': {
      const rec = getRecord(await readDb(), key!);
      const value = rec ? getProp(rec, args[1]!) : undefined;
      if (value === undefined) return 1;
      out(`${value}\n`);
      return 0;
    }
    case 'show':
    case 'print':
    case 'printtype': {
      const records = await select();
      if (!records || (cmd.verb === 'show' && records.length === 0)) return 1;
      const format = cmd.verb === 'show' ? formatShow : cmd.verb === 'print' ? formatPrint : formatPrintType;
      out(records.map(([k, rec]) => format(k, rec)).join(''));
      return 0;
    }
    case 'printprop': {
      const rec = getRecord(await readDb(), key!);
      if (!rec) return 1;
      out(formatPrintProp(rec, args.slice(1)));
      return 0;
    }
    case 'printjson':
    case 'getjson':
    case 'showjson': {
      const data = await readDb();
      let value: unknown;
      if (key === undefined) value = toJsonEntries(data);
      else {
        const rec = getRecord(data, key);
        if (!rec) throw missing(cmd, key);
        value = toJsonEntry(key, rec);
      }
      out(cmd.verb === 'showjson' ? `${JSON.stringify(value, null, 4)}\n` : JSON.stringify(value));
      return 0;
    }
    case 'export':
      // What is stored, as NethServer's file holds it: without the read-only machine keys.
      out(formatEsmithText(name, await readDatabase(root, name)));
      return 0;
    default:
      return runWrite(cmd, root);
  }
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
