/**
 * `signal-event [--root DIR] [--apply MODE] [--verbose] NAME [ARGS...]`: run an event's
 * actions in order under the root's event lock. Exit 0 on success, 1 when an action fails
 * or the event is unknown, with one line on stderr naming the action and why.
 */
import yargs from 'yargs';
import { describeError, isGatehouseError } from '../errors/index.js';
import { resolveRoot } from '../layout/index.js';
import { resolveApplyMode } from '../apply/index.js';
import { signalEvent } from '../events/index.js';

const USAGE = '$0 [--root DIR] [--apply MODE] [--verbose] NAME [ARGS...]';

export async function main(argv: string[]): Promise<number> {
  const say = (line: string): void => void process.stderr.write(`signal-event: ${line}\n`);
  try {
    const parsed = await yargs(argv)
      .scriptName('signal-event')
      .usage(USAGE)
      .option('root', { type: 'string', describe: 'runtime root (default GATEHOUSE_ROOT, else /)' })
      .option('apply', { type: 'string', describe: 'dry-run | netns:<name> | host (default GATEHOUSE_APPLY, else dry-run unless root / as uid 0)' })
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
    if (parsed['help']) return 0;
    const [name, ...args] = parsed._.map(String);
    if (name === undefined) throw new Error('name an event');
    const root = resolveRoot(parsed.root);
    await signalEvent({
      root,
      event: name,
      args,
      applyMode: resolveApplyMode(root, parsed.apply),
      ...(parsed.verbose ? { echo: say } : {}),
      onWait: (holder) => say(`waiting for ${holder} to finish`),
    });
    return 0;
  } catch (e) {
    say(describeError(e));
    return isGatehouseError(e) ? e.exitCode : 1;
  }
}
