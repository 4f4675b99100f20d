/**
 * `check-wan-uplink-args`: wan-uplink-update ACTION PROVIDER [LSM fields...]. ACTION is
 * `up` or `down`; PROVIDER names a `provider` record of the networks database. The routing
 * work itself comes with multi-WAN.
 */
import { readDatabase } from '../../db/index.js';
import { GatehouseError } from '../../errors/index.js';
import type { ActionContext } from './index.js';

const USAGE = 'usage: signal-event wan-uplink-update up|down PROVIDER';

export async function checkWanUplinkArgs(context: ActionContext): Promise<void> {
  const [action, provider] = context.args;
  if (action !== 'up' && action !== 'down') {
    throw new GatehouseError(action === undefined ? 'missing ACTION' : `ACTION '${action}' is neither up nor down`, { hint: USAGE });
  }
  if (provider === undefined || provider === '') throw new GatehouseError('missing PROVIDER', { hint: USAGE });
  const networks = await readDatabase(context.root, 'networks');
  const record = networks[provider];
  if (record?.type !== 'provider') {
    const known = Object.keys(networks).filter((k) => networks[k]?.type === 'provider');
    throw new GatehouseError(`no provider '${provider}'`, {
      place: { db: 'networks', key: provider },
      hint: known.length > 0 ? `known providers: ${known.join(', ')}` : 'no provider records exist in networks',
    });
  }
  context.log(`${provider} (${record.props['interface'] ?? 'no interface'}) is ${action}`);
}
