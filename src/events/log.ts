/**
 * The event log, $ROOT/var/log/gatehouse/events.log: one line per event start and end, one
 * per action with its result and duration, and the captured output of custom actions.
 * Appended synchronously so lines keep their order even when the process dies mid-event.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivateDir, runtimePaths } from '../layout/index.js';

export interface EventLog {
  file: string;
  write(line: string): void;
}

export function openEventLog(root: string, options: { echo?: (line: string) => void } = {}): EventLog {
  const dir = runtimePaths(root).logDir;
  // Custom actions' output lands here: readable by its owner only.
  makePrivateDir(dir);
  const file = join(dir, 'events.log');
  return {
    file,
    write(line: string) {
      // Control characters from a custom action's output must not forge log lines.
      const clean = line.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, ' ');
      appendFileSync(file, `${new Date().toISOString()} [${process.pid}] ${clean}\n`, { mode: 0o600 });
      options.echo?.(clean);
    },
  };
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}
