/**
 * The one door to the kernel. Every command the apply layer runs goes through a runner
 * built for the apply mode: under `ip netns exec <name>` in netns mode, printed and not
 * run in dry-run mode, run directly only in host mode.
 */
import { accessSync, constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import type { KernelCommand, KernelRunner } from '../plan/index.js';
import { type ApplyMode, formatApplyMode } from './mode.js';
import { type CommandResult, runCommand } from './spawn.js';

export type { KernelCommand, KernelRunner };

export interface RunnerOptions {
  /** Environment for the commands (PATH decides which binaries are found). */
  env?: NodeJS.ProcessEnv;
  /** Where dry-run prints the commands; default stdout. */
  print?: (line: string) => void;
  /** Seconds before a kernel command is considered hung. */
  timeoutSeconds?: number;
}

/** Where `ip netns add` keeps named namespaces. */
export const NETNS_RUN_DIR = '/run/netns';

export function createKernelRunner(mode: ApplyMode, options: RunnerOptions = {}): KernelRunner {
  const env = options.env ?? process.env;
  const print = options.print ?? ((line: string) => void process.stdout.write(line + '\n'));
  const timeout = (options.timeoutSeconds ?? 60) * 1000;

  const argvFor = (c: KernelCommand): [string, string[]] =>
    mode.kind === 'netns' ? ['ip', ['netns', 'exec', mode.name, c.command, ...c.args]] : [c.command, c.args];

  return {
    mode,
    async run(c) {
      if (mode.kind === 'dry-run') {
        const input = c.input === undefined ? '' : ` < ${c.inputName ?? 'stdin'} (${countLines(c.input)} lines)`;
        print(`${[c.command, ...c.args].map(quoteForShell).join(' ')}${input}`);
        return '';
      }
      const [file, args] = argvFor(c);
      const result = await runCommand(file, args, { input: c.input ?? '', env, timeoutMs: timeout, cancelSignal: c.signal });
      if (result.failed) {
        throw new GatehouseError(`${c.step} failed in ${formatApplyMode(mode)}: ${kernelMessage(result)}`, {
          hint: hintFor(result),
        });
      }
      return String(result.stdout);
    },
    async preflight(commands) {
      if (mode.kind === 'dry-run') return;
      const needed = mode.kind === 'netns' ? ['ip', ...commands] : [...commands];
      const missing: string[] = [];
      for (const command of new Set(needed)) {
        if (!findInPath(command, env['PATH'] ?? '')) missing.push(command);
      }
      if (missing.length > 0) {
        throw new GatehouseError(`kernel command${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}`, {
          hint: `install the Debian package${missing.length > 1 ? 's' : ''} (${missing.map(packageOf).join(', ')}) or fix PATH; nothing was changed`,
        });
      }
      if (mode.kind === 'netns') {
        const exists = await access(join(NETNS_RUN_DIR, mode.name)).then(
          () => true,
          () => false,
        );
        if (!exists) {
          throw new GatehouseError(`network namespace '${mode.name}' does not exist`, {
            hint: `create it with \`ip netns add ${mode.name}\` or choose another with --apply netns:<name>; nothing was changed`,
          });
        }
      }
    },
  };
}

/**
 * One access(2) per PATH entry, synchronously: a few microseconds each, where a promise per
 * check waited on the thread pool (20-30 ms for a plan's seven commands in a busy event).
 */
function findInPath(command: string, path: string): boolean {
  const executable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (command.includes('/')) return executable(command);
  return path.split(delimiter).some((dir) => dir !== '' && executable(join(dir, command)));
}

function packageOf(command: string): string {
  if (command.startsWith('ip6tables') || command.startsWith('iptables')) return 'iptables';
  if (command === 'ip') return 'iproute2';
  if (command === 'sysctl') return 'procps';
  return command;
}

function kernelMessage(result: CommandResult): string {
  if (result.timedOut) return 'timed out';
  const text = result.stderr.trim() || result.stdout.trim();
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Try `.*(-h|--help)/.test(l));
  if (lines.length > 0) return lines.slice(0, 4).join(' / ');
  return result.shortMessage ?? `exit code ${result.exitCode ?? '?'}`;
}

function hintFor(result: CommandResult): string | undefined {
  const text = result.stderr;
  if (/Cannot open network namespace/.test(text)) return 'create the namespace or choose another with --apply netns:<name>';
  if (/exec of .* failed|ENOENT/.test(text + (result.code ?? ''))) return 'install the missing command or fix PATH';
  return undefined;
}

function countLines(text: string): number {
  return text === '' ? 0 : text.split('\n').filter((l) => l !== '').length;
}

function quoteForShell(word: string): string {
  return /^[A-Za-z0-9_.,:=/+@%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
