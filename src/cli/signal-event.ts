/**
 * `signal-event [--root DIR] [--apply MODE] [--verbose] NAME [ARGS...]`: run an event's
 * actions in order under the root's event lock. Exit 0 on success, 1 when an action fails
 * or the event is unknown, with one line on stderr naming the action and why.
 */
import { describeError, isGatehouseError } from '../errors/index.js';
import { resolveRoot } from '../layout/index.js';
import { resolveApplyMode } from '../apply/index.js';
import { signalEvent } from '../events/index.js';
import { runCommand as runCommandWith } from './run-command.js';

const USAGE = '$0 [--root DIR] [--apply MODE] [--verbose] [-j] NAME [ARGS...]';

interface ParsedArgs {
  root?: string | undefined;
  apply?: string | undefined;
  verbose: boolean;
  help?: boolean;
  names: string[];
}

// yargs turns number-looking positionals into numbers; such words take the yargs path.
const NUMBER_LIKE = /^[-+]?(?:[0-9.]|0x)/i;

/**
 * The everyday command line (`--root DIR --apply MODE -v NAME ARGS...`) read by hand:
 * loading yargs costs about a tenth of a second, a third of an event's own time. Anything
 * else (help, unknown or repeated options, odd values) goes to yargs, which gives the
 * same answers and messages as before.
 */
function parseCommon(argv: string[]): ParsedArgs | undefined {
  const out: ParsedArgs = { verbose: false, names: [] };
  const seen = new Set<string>();
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('-')) break;
    // NethServer's -j/--json (progress lines for its web UI) is accepted and ignored: no UI reads them here.
    if (word === '-j' || word === '--json') continue;
    if (word === '-v' || word === '--verbose') {
      if (seen.has('verbose')) return undefined;
      seen.add('verbose');
      out.verbose = true;
      continue;
    }
    const m = /^--(root|apply)(?:=(.*))?$/.exec(word);
    if (!m) return undefined;
    const key = m[1] as 'root' | 'apply';
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('-') || seen.has(key)) return undefined;
    seen.add(key);
    out[key] = value;
  }
  const names = argv.slice(i);
  if (names.length === 0 || names.some((n) => NUMBER_LIKE.test(n))) return undefined;
  out.names = names;
  return out;
}

async function parseWithYargs(argv: string[]): Promise<ParsedArgs> {
  const { default: yargs } = await import('yargs');
  const parsed = await yargs(argv)
    .scriptName('signal-event')
    .usage(USAGE)
    .option('root', { type: 'string', describe: 'runtime root (default GATEHOUSE_ROOT, else /)' })
    .option('apply', { type: 'string', describe: 'dry-run | netns:<name> | host (default GATEHOUSE_APPLY, else dry-run unless root / as uid 0)' })
    .option('json', { type: 'boolean', alias: 'j', default: false, describe: "accepted for NethServer's scripts and ignored (no progress JSON)" })
    .option('verbose', { type: 'boolean', alias: 'v', default: false, describe: 'also print the event log lines on stderr' })
    // Everything after NAME belongs to the event, even words starting with a dash.
    .parserConfiguration({ 'halt-at-non-option': true })
    .strictOptions()
    .demandCommand(1, 'name an event, e.g. signal-event firewall-adjust')
    .version(false)
    .help()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  return { root: parsed.root, apply: parsed.apply, verbose: parsed.verbose, help: Boolean(parsed['help']), names: parsed._.map(String) };
}

export async function main(argv: string[]): Promise<number> {
  const say = (line: string): void => void process.stderr.write(`signal-event: ${line}\n`);
  try {
    const parsed = parseCommon(argv) ?? (await parseWithYargs(argv));
    if (parsed.help) return 0;
    const [name, ...args] = parsed.names;
    if (name === undefined) throw new Error('name an event');
    const root = resolveRoot(parsed.root);
    await signalEvent({
      root,
      event: name,
      args,
      applyMode: resolveApplyMode(root, parsed.apply),
      ...(parsed.verbose ? { echo: say } : {}),
      onWait: (holder) => say(`waiting for ${holder} to finish`),
      onWarning: (line) => say(`warning: ${line}`),
    });
    return 0;
  } catch (e) {
    say(describeError(e));
    return isGatehouseError(e) ? e.exitCode : 1;
  }
}

/**
 * Ends the process once all output is written (bin/signal-event.js), at once: everything an
 * event does is awaited before main returns (log lines are written synchronously, the lock
 * is released), so waiting for Node's natural exit only paid for tearing down a heap that
 * held whole databases and plans (50-100 ms measured after a 5,000-rule event) and for
 * read-backs the apply had already abandoned.
 */
export function runCommand(name: string, run: () => Promise<number>): Promise<void> {
  return runCommandWith(name, run, { exit: 'now' });
}
