/**
 * NethServer 7's read-only keys of `configuration`: `SystemName` and `DomainName` (the
 * machine's host name split at its first dot) and `TimeZone` (the zone this machine's
 * clock is in, which is also the zone time objects are converted from). NethServer
 * injects them on every read; so does `db configuration` here, unless the database
 * holds a record of that name (a migrated one, or one set by hand), which then wins.
 */
import { hostname } from 'node:os';
import type { Database, DbRecord } from './store.js';

export const VIRTUAL_CONFIGURATION_KEYS = ['SystemName', 'DomainName', 'TimeZone'] as const;

/** The zone this machine's clock is in, as ICU (and so every Intl date format) reads it. */
export function machineTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * A record whose type is computed when first read. The machine's time zone costs about
 * 25 ms (ICU builds its date formatter): `db configuration getprop firewall Policy` must
 * not pay for a key it never shows.
 */
function lazyRecord(typeOf: () => string): DbRecord {
  let type: string | undefined;
  return {
    get type(): string {
      return (type ??= typeOf());
    },
    set type(value: string) {
      type = value;
    },
    props: {},
  };
}

/**
 * The machine's values as simple entries (type only, no props), as NethServer shows them.
 * `timeZone` may be a function: it is then called only when TimeZone's type is read.
 */
export function virtualConfigurationRecords(host: string = hostname(), timeZone: string | (() => string) = machineTimeZone): Database {
  const dot = host.indexOf('.');
  const systemName = dot < 0 ? host : host.slice(0, dot);
  const domainName = dot < 0 ? '' : host.slice(dot + 1);
  const zone = typeof timeZone === 'string' ? { type: timeZone, props: {} } : lazyRecord(timeZone);
  const out: Database = { SystemName: { type: systemName, props: {} }, TimeZone: zone };
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
