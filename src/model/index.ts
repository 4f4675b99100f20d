/**
 * The gateway model: a pure function from the databases to a typed, resolved view of the
 * network. (Placeholder shape until the gateway-model work lands; keep the signature.)
 */
import type { Database } from '../db/index.js';

export interface BuildModelOptions {
  /** Local time zone used to convert time objects to UTC (default: the process's). */
  timeZone?: string;
  /** The moment whose UTC offset applies (default: now). */
  now?: Date;
}

export interface GatewayModel {
  mode: 'gateway' | 'server';
}

export function buildModel(dbs: Record<string, Database>, _options: BuildModelOptions = {}): GatewayModel {
  const networks = dbs['networks'] ?? {};
  const hasRed = Object.values(networks).some((r) => r.props['role'] === 'red');
  return { mode: hasRed ? 'gateway' : 'server' };
}
