/**
 * PLACEHOLDER until the Shorewall work adds NFQUEUE (issue 16): `nfqueue=enabled` on the
 * firewall key gets a "not yet supported" warning. That work replaces this file and its
 * one call in src/model/index.ts.
 */
import type { Database } from '../../db/index.js';
import type { ModelWarning } from '../types.js';

export function pendingNfqueueWarnings(dbs: Record<string, Database>): ModelWarning[] {
  const value = dbs['configuration']?.['firewall']?.props['nfqueue'] ?? '';
  if (value !== 'enabled') return [];
  return [{ place: { db: 'configuration', key: 'firewall', prop: 'nfqueue' }, message: "'enabled' has no effect: handing connections to an IPS through NFQUEUE is not supported yet" }];
}
