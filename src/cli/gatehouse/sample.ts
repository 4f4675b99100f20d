/**
 * `gatehouse sample --root DIR`: fill a root with the built-in small-office sample (see
 * src/sample), through the validated db writes. Refuses `/` unless --force: the sample
 * is for trying Gatehouse out, not for overwriting an appliance's databases.
 */
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { GatehouseError } from '../../errors/index.js';
import { resolveRoot, runtimePaths } from '../../layout/index.js';
import { writeSample } from '../../sample/index.js';

interface SampleArgs {
  root?: string;
  force?: boolean;
}

export const command: CommandModule<object, SampleArgs> = {
  command: 'sample',
  describe: 'fill a root with the built-in small-office sample network',
  builder: (y) =>
    y
      .option('root', { type: 'string', describe: 'runtime root (default: GATEHOUSE_ROOT or /)' })
      .option('force', { type: 'boolean', default: false, describe: 'write even into / or over existing databases' }) as never,
  handler: async (args) => {
    const root = resolveRoot(args.root);
    if (!args.force && (root === '/' || existsSync(runtimePaths(root).dbDir))) {
      throw new GatehouseError(root === '/' ? 'refusing to write the sample into /' : `${root} already has databases`, {
        hint: 'give a fresh directory with --root DIR, or add --force',
      });
    }
    const records = await writeSample(root);
    const dbs = [...new Set(records.map((r) => r.db))];
    process.stdout.write(`wrote the sample network into ${root}: ${records.length} records in ${dbs.join(', ')}\n`);
    process.stdout.write(`next: signal-event --root ${root} --apply dry-run firewall-adjust\n`);
  },
};
