/**
 * `gatehouse <command>`: the appliance's own front end (compile, apply, confirm, stop,
 * status, sample, ...). Each command lives in src/cli/gatehouse/<command>.ts and exports
 * a yargs CommandModule as `command`; it is loaded only when named, so one command never
 * pays for another's imports.
 */
import yargs, { type CommandModule } from 'yargs';
import { describeError, isGatehouseError } from '../errors/index.js';

type Loader = () => Promise<{ command: CommandModule }>;

/** Command name -> lazy loader. Add one line per command. */
const COMMANDS: Record<string, { describe: string; load: Loader }> = {
  compile: { describe: 'compile the Shorewall-style files into a plan', load: () => import('./gatehouse/compile.js') as Promise<{ command: CommandModule }> },
  apply: { describe: 'apply the compiled plan to the kernel (atomic, with rollback)', load: () => import('./gatehouse/apply.js') as Promise<{ command: CommandModule }> },
  confirm: { describe: 'confirm a plan applied with --confirm', load: () => import('./gatehouse/confirm.js') as Promise<{ command: CommandModule }> },
  stop: { describe: 'load the safe stopped ruleset', load: () => import('./gatehouse/stop.js') as Promise<{ command: CommandModule }> },
  status: { describe: 'show the running plan and whether the kernel matches it', load: () => import('./gatehouse/status.js') as Promise<{ command: CommandModule }> },
  qos: { describe: 'show each traffic class with its rates and live counters', load: () => import('./gatehouse/qos.js') as Promise<{ command: CommandModule }> },
  start: { describe: 'apply the last good plan and load the blocklist (boot)', load: () => import('./gatehouse/start.js') as Promise<{ command: CommandModule }> },
  'renew-time-windows': {
    describe: 'run firewall-adjust when the running time windows run out within DAYS (daily timer)',
    load: () => import('./gatehouse/renew-time-windows.js') as Promise<{ command: CommandModule }>,
  },
  restart: { describe: 'rebuild the firewall from the databases and replace the running one', load: () => import('./gatehouse/restart.js') as Promise<{ command: CommandModule }> },
  api: { describe: 'serve the REST block/allow API', load: () => import('./gatehouse/api.js') as Promise<{ command: CommandModule }> },
  migrate: { describe: 'migrate a NethServer 7 db directory (and templates-custom) into a root, with one report', load: () => import('./gatehouse/migrate.js') as unknown as Promise<{ command: CommandModule }> },
  'wan-monitor': { describe: 'link monitor: ping CheckIP through each provider, fire wan-uplink-update on changes', load: () => import('./gatehouse/wan-monitor.js') as Promise<{ command: CommandModule }> },
  sample: { describe: 'fill a root with the built-in small-office sample network', load: () => import('./gatehouse/sample.js') as Promise<{ command: CommandModule }> },
};

export async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  const entry = name === undefined ? undefined : COMMANDS[name];
  let parser = yargs(argv)
    .scriptName('gatehouse')
    .strict()
    .demandCommand(1, `name a command: ${Object.keys(COMMANDS).join(', ')}`)
    .help()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  if (entry) {
    parser = parser.command((await entry.load()).command);
  } else {
    for (const [cmd, { describe }] of Object.entries(COMMANDS)) {
      parser = parser.command(cmd, describe, () => {}, () => {});
    }
  }
  skipHelpCaching(parser);
  try {
    await parser.parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    process.stderr.write(`gatehouse: ${describeError(e)}\n`);
    return isGatehouseError(e) ? e.exitCode : 1;
  }
}

interface YargsInternals {
  getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } };
}

/**
 * yargs renders the whole help text every time a command runs, to keep it in case the
 * command fails later; with string-width's Unicode tables that was 30-50 ms of every
 * `gatehouse` command. Our .fail() never prints that text (it throws, and main prints
 * one line), so the rendering is skipped. `--help` renders as before. Should a later
 * yargs not have this internal hook, nothing changes but the cost.
 */
function skipHelpCaching(parser: unknown): void {
  const usage = (parser as YargsInternals).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** Ends the process once all output is written (bin/gatehouse.js). */
export { runCommand } from './run-command.js';
