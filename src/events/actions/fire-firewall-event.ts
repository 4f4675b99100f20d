/**
 * `fire-firewall-event` (the action of firewall-adjust): run the event named by the
 * `configuration` key `firewall` prop `event`, gateway mode by default. The nested event
 * gets the triggering event's name first, then its arguments (as on NethServer).
 */
import { readDatabase } from '../../db/index.js';
import { GatehouseError } from '../../errors/index.js';
import type { ActionContext } from './index.js';

export const DEFAULT_FIREWALL_EVENT = 'firewall-gateway-save';

export async function fireFirewallEvent(context: ActionContext): Promise<void> {
  const configuration = await readDatabase(context.root, 'configuration');
  const configured = configuration['firewall']?.props['event'] ?? '';
  const target = configured === '' ? DEFAULT_FIREWALL_EVENT : configured;
  if (target === context.event) {
    throw new GatehouseError(`the firewall event cannot be '${context.event}' itself`, {
      place: { db: 'configuration', key: 'firewall', prop: 'event' },
      hint: `use ${DEFAULT_FIREWALL_EVENT} (gateway) or firewall-server-save (server)`,
    });
  }
  context.log(`firing ${target}${configured === '' ? ' (default)' : ' (configuration firewall event)'}`);
  await context.signal(target, [context.event, ...context.args]);
}
