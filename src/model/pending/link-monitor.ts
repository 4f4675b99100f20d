/**
 * PLACEHOLDER until the link monitor lands (multi-WAN, issue 12): with two or more
 * providers NethServer's LSM pings CheckIP and reports failures by mail; Gatehouse does not
 * watch links yet, so these settings warn "not supported yet". The link-monitor work
 * replaces this file and its one call in src/model/index.ts.
 */
import type { Database } from '../../db/index.js';
import type { ModelWarning } from '../types.js';

const MONITOR_SETTINGS = ['CheckIP', 'MaxNumberPacketLoss', 'MaxPercentPacketLoss', 'PingInterval', 'NotifyWan', 'NotifyWanFrom', 'NotifyWanTo'];

export function pendingLinkMonitorWarnings(dbs: Record<string, Database>): ModelWarning[] {
  const networks = dbs['networks'] ?? {};
  const providers = Object.keys(networks).filter((k) => networks[k]!.type === 'provider');
  if (providers.length < 2) return [];
  const firewall = dbs['configuration']?.['firewall']?.props ?? {};
  return MONITOR_SETTINGS.filter((p) => (firewall[p] ?? '') !== '').map((prop) => ({
    place: { db: 'configuration', key: 'firewall', prop },
    message: `'${firewall[prop]}' has no effect: links are not monitored yet (a provider whose link fails is not taken out by itself)`,
  }));
}
