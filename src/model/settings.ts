/** The `firewall` configuration key and the admin services, with NethServer's defaults. */
import type { Database } from '../db/index.js';
import { GatehouseError } from '../errors/index.js';
import type { FirewallSettings } from './types.js';

/** A prop's value, where missing and empty both count as missing (as in e-smith). */
export function propOf(db: Database | undefined, key: string, prop: string): string | undefined {
  const value = db?.[key]?.props[prop];
  return value === undefined || value === '' ? undefined : value;
}

function choice<T extends string>(db: Database | undefined, prop: string, allowed: readonly T[], fallback: T): T {
  const raw = propOf(db, 'firewall', prop);
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new GatehouseError(`${prop} is '${raw}'`, {
    place: { db: 'configuration', key: 'firewall', prop },
    hint: `use one of: ${allowed.join(', ')}`,
  });
}

const SWITCH = ['enabled', 'disabled'] as const;

function port(configuration: Database | undefined, key: string, fallback: string): string {
  const value = propOf(configuration, key, 'TCPPort') ?? fallback;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new GatehouseError(`TCPPort is '${value}'`, {
      place: { db: 'configuration', key, prop: 'TCPPort' },
      hint: 'use a port number from 1 to 65535',
    });
  }
  return value;
}

export function readSettings(configuration: Database | undefined): FirewallSettings {
  return {
    policy: choice(configuration, 'Policy', ['permissive', 'strict'], 'permissive'),
    externalPing: choice(configuration, 'ExternalPing', SWITCH, 'enabled') === 'enabled',
    hairpinNat: choice(configuration, 'HairpinNat', SWITCH, 'disabled') === 'enabled',
    macValidation: choice(configuration, 'MACValidation', SWITCH, 'disabled') === 'enabled',
    macValidationPolicy: choice(configuration, 'MACValidationPolicy', ['drop', 'reject', 'accept'], 'drop'),
    docker: choice(configuration, 'Docker', SWITCH, 'disabled') === 'enabled',
    nfqueue: choice(configuration, 'nfqueue', SWITCH, 'disabled') === 'enabled',
    event: propOf(configuration, 'firewall', 'event'),
    sshPort: port(configuration, 'sshd', '22'),
    adminPort: port(configuration, 'httpd-admin', '980'),
  };
}
