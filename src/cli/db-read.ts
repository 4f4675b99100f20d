/**
 * The `db` command line (its grammar, see ./db.ts) and the verbs that only read a
 * database. They are a module of their own so that `db getprop`, which scripts run
 * many times, loads a bundle of only this (bin/db-dispatch.js picks it by the verb; a command it
 * cannot run goes to the whole command, ./db.ts): compiling the code of the writes and
 * the schemas was a fifth of what a getprop cost.
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
  readRecord,
  toJsonEntries,
  toJsonEntry,
  withVirtualConfiguration,
} from '../db/index.js';

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

function out(text: string): void {
  writeOutput(text);
}

function missing(cmd: DbCommand, key: string): GatehouseError {
  return new GatehouseError('no such key', { place: { db: cmd.db, key } });
}

/** Verbs that only read one database: runRead runs them (and the launcher loads only this module's bundle for them). */
export const READ_VERBS: ReadonlySet<string> = new Set(['keys', 'get', 'getprop', 'gettype', 'show', 'print', 'printtype', 'printprop', 'printjson', 'getjson', 'showjson', 'export']);

/** Run one parsed command that only reads: its exit code, or undefined for a verb that writes. */
export async function runRead(cmd: DbCommand, root: string): Promise<number | undefined> {
  const { db: name, args } = cmd;
  const [key] = args;
  // configuration also shows NethServer's read-only SystemName, DomainName and TimeZone.
  const readDb = async (): Promise<Database> => (name === 'configuration' ? withVirtualConfiguration(await readDatabase(root, name)) : readDatabase(root, name));
  /** The record of `key`: read alone when the file allows (configuration is small, and has its virtual keys). */
  const readOne = async (): Promise<Database[string] | undefined> => (name === 'configuration' ? getRecord(await readDb(), key!) : readRecord(root, name, key!));
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
      const rec = await readOne();
      if (!rec) return 1;
      out(`${cmd.verb === 'get' ? formatRawValue(rec) : rec.type}\n`);
      return 0;
    }
    case 'getprop': {
      const rec = await readOne();
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
      const rec = await readOne();
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
      return undefined;
  }
}

/**
 * The read-only `db`: the exit code of a well-formed command that only reads, else
 * undefined (then the whole command runs it: writes, help and usage errors).
 */
export async function mainRead(argv: string[]): Promise<number | undefined> {
  const cmd = parseCommandLine(argv);
  if (!cmd || !READ_VERBS.has(cmd.verb)) return undefined;
  try {
    return await runRead(cmd, resolveRoot(cmd.root));
  } catch (e) {
    process.stderr.write(`db: ${describeError(e)}\n`);
    return isGatehouseError(e) ? e.exitCode : 1;
  }
}

/** Ends the process once all output is written (bin/db.js). */
export { runCommand } from './run-command.js';
