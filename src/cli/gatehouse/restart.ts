/**
 * `gatehouse restart [--root DIR] [--apply MODE]`: as Shorewall's restart, builds the
 * firewall again from the configuration and replaces the running one: the firewall-adjust
 * event (expand, compile, apply). Run-time sets, the API's blocklist included, are kept.
 */
import type { CommandModule } from 'yargs';
import { type RootAndModeArgs, rootAndMode, withRootAndMode } from './apply.js';

export const command: CommandModule<object, RootAndModeArgs> = {
  command: 'restart',
  describe: 'build the firewall again from the databases and replace the running one (firewall-adjust)',
  builder: (y) => withRootAndMode(y),
  handler: async (args) => {
    const { root, mode } = rootAndMode(args);
    const { signalEvent } = await import('../../events/index.js');
    const report = await signalEvent({ root, event: 'firewall-adjust', applyMode: mode });
    process.stdout.write(`restarted: firewall-adjust ran ${report.actions.length} actions in ${Math.round(report.ms)} ms (${mode.kind === 'netns' ? `netns:${mode.name}` : mode.kind})\n`);
  },
};
