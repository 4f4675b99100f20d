/** `wan-uplink-update` ACTION PROVIDER (checked by check-wan-uplink-args first): routing only. */
import { wanUplinkUpdate } from '../../wan/index.js';
import type { ActionContext } from './index.js';

export async function wanUplinkUpdateAction(context: ActionContext): Promise<void> {
  const [action, provider] = context.args as ['up' | 'down', string];
  await wanUplinkUpdate({ root: context.root, mode: context.applyMode, provider, state: action, log: context.log });
}
