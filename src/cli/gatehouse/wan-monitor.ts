/** `gatehouse wan-monitor [--once] [--root DIR] [--apply MODE]`: the link monitor (foreground). */
import type { CommandModule } from 'yargs';
import { runMonitor } from '../../wan/index.js';
import { type RootAndModeArgs, rootAndMode, withRootAndMode } from './apply.js';

type Args = RootAndModeArgs & { once?: boolean };

export const command: CommandModule<object, Args> = {
  command: 'wan-monitor',
  describe: 'ping CheckIP through every provider and fire wan-uplink-update on every change (--once: print the states and exit)',
  builder: (y) => withRootAndMode(y).option('once', { type: 'boolean', describe: 'probe once, print each provider state, exit' }) as never,
  handler: async (args) => {
    const { root, mode } = rootAndMode(args);
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      await runMonitor({ root, mode, once: args.once === true, print: (line) => void process.stdout.write(line + '\n'), signal: stop.signal });
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  },
};
