/**
 * NethServer 7's read-only keys of `configuration`: `SystemName` and `DomainName` (the
 * machine's host name split at its first dot) and `TimeZone` (the zone this machine's
 * clock is in, which is also the zone time objects are converted from). NethServer
 * injects them on every read; so does `db configuration` here, unless the database
 * holds a record of that name (a migrated one, or one set by hand), which then wins.
 */
import { hostname } from 'node:os';
import type { Database } from './store.js';

export const VIRTUAL_CONFIGURATION_KEYS = ['SystemName', 'DomainName', 'TimeZone'] as const;

/** The machine's values as simple entries (type only, no props), as NethServer shows them. */
export function virtualConfigurationRecords(host: string = hostname(), timeZone: string = Intl.DateTimeFormat().resolvedOptions().timeZone): Database {
  const dot = host.indexOf('.');
  const systemName = dot < 0 ? host : host.slice(0, dot);
  const domainName = dot < 0 ? '' : host.slice(dot + 1);
  const out: Database = { SystemName: { type: systemName, props: {} }, TimeZone: { type: timeZone, props: {} } };
  // An empty type is not a record: a host name without a domain has no DomainName (as on NethServer).
  if (domainName !== '') out['DomainName'] = { type: domainName, props: {} };
  return out;
}

/** The configuration database as `db configuration` reads it: stored records over the machine's values. */
export function withVirtualConfiguration(db: Database, virtual: Database = virtualConfigurationRecords()): Database {
  const out: Database = {};
  for (const key of Object.keys(virtual)) if (!Object.hasOwn(db, key)) out[key] = virtual[key]!;
  return { ...out, ...db };
}

/** The time zone time objects are converted from: a stored `TimeZone` record, else the machine's. */
export function configuredTimeZone(configuration: Database | undefined): string | undefined {
  const tz = configuration?.['TimeZone']?.type;
  return tz === undefined || tz === '' ? undefined : tz;
}
