/**
 * `expand-template [--root DIR] [--stdout] [--watch] PATH...`: expand target files from their
 * fragments. Silent on success; `--stdout` prints instead of writing; `--watch` keeps
 * re-expanding as fragments or databases change until interrupted.
 */
import yargs from 'yargs';
import { describeError, isGatehouseError } from '../errors/index.js';
import { resolveRoot } from '../layout/index.js';
import {
  buildTemplateContext,
  defaultTemplateDirs,
  expandTargets,
  renderTarget,
  watchTargets,
  type ExpandResult,
} from '../templates/index.js';

const USAGE = '$0 [--root DIR] [--stdout] [--watch] PATH...';

function describeResult(result: ExpandResult): string {
  const parts = [];
  if (result.changed.length > 0) parts.push(`changed ${result.changed.join(' ')}`);
  if (result.unchanged.length > 0) parts.push(`unchanged ${result.unchanged.join(' ')}`);
  return parts.join('; ');
}

async function watchUntilStopped(root: string, targets: string[]): Promise<number> {
  const out = (line: string): void => void process.stdout.write(`${new Date().toTimeString().slice(0, 8)} ${line}\n`);
  const dirs = defaultTemplateDirs(root);
  try {
    out(describeResult(await expandTargets(root, targets, await buildTemplateContext(root), { dirs })));
  } catch (e) {
    out(`error: ${describeError(e)}`);
  }
  const watcher = watchTargets(root, targets, {
    dirs,
    onReport: (r) => out(r.ok ? describeResult(r.result) : `error: ${describeError(r.error)}`),
  });
  await watcher.ready;
  out(`watching ${targets.join(' ')} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await watcher.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = await yargs(argv)
      .scriptName('expand-template')
      .usage(USAGE)
      .option('root', { type: 'string', describe: 'runtime root (default GATEHOUSE_ROOT, else /)' })
      .option('stdout', { type: 'boolean', describe: 'print the result instead of writing it' })
      .option('watch', { type: 'boolean', describe: 're-expand whenever a fragment or database changes' })
      .conflicts('stdout', 'watch')
      .strict()
      .demandCommand(1, 'name at least one target, e.g. expand-template /etc/shorewall/rules')
      .version(false)
      .help()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync();
    if (parsed['help']) return 0;
    const targets = parsed._.map(String);
    const root = resolveRoot(parsed.root);
    if (parsed.watch) return await watchUntilStopped(root, targets);
    const context = await buildTemplateContext(root);
    if (parsed.stdout) {
      const dirs = defaultTemplateDirs(root);
      // Render everything before printing anything: an error prints no partial output.
      const texts = targets.map((t) => renderTarget(t, context, dirs));
      process.stdout.write(texts.join(''));
      return 0;
    }
    await expandTargets(root, targets, context);
    return 0;
  } catch (e) {
    process.stderr.write(`expand-template: ${describeError(e)}\n`);
    return isGatehouseError(e) ? e.exitCode : 1;
  }
}

/** Ends the process once all output is written (bin/expand-template.js). */
export { runCommand } from './run-command.js';
