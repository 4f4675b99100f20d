/**
 * `nethserver-event-note`: the action of NethServer event names that have nothing to do on
 * Gatehouse. Packages and administrators' scripts fire them, so they must not fail; the
 * event log says, in one line, why nothing was done.
 */
import type { ActionContext } from './index.js';

/** Why each such event does nothing here. */
export const NETHSERVER_EVENT_NOTES: Readonly<Record<string, string>> = {
  'runlevel-adjust':
    "nothing to do: on NethServer it aligns every service's boot state with its status prop; Gatehouse manages no services (the firewall boots with the gatehouse units)",
  'nethserver-lsm-update':
    'nothing to do: on NethServer it rewrites lsm.conf and restarts lsm; here gatehouse wan-monitor reads the providers and CheckIP/PingInterval when it starts (restart it after changing them)',
};

export async function nethserverEventNote(context: ActionContext): Promise<void> {
  const note = NETHSERVER_EVENT_NOTES[context.event] ?? 'nothing to do: this NethServer event has no counterpart in Gatehouse';
  context.log(`${context.event}: ${note}`);
}
