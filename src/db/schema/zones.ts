/**
 * Zone names, shared by `db` (which refuses a clash when it is written) and the model
 * (which refuses the same clash in records written by hand): interface roles and `zone`
 * records become Shorewall zones of at most 5 characters, and two different roles or
 * records must never land in one zone. Roles `trusted` and `trustless` would both be
 * `trust`, so a rule for one would also let the other through: a false accept.
 */
import type { Database } from '../store.js';

/** Built-in roles and their zones. */
export const ROLE_ZONES: Readonly<Record<string, string>> = { green: 'loc', red: 'net', blue: 'blue', orange: 'orang' };

/** Roles that make no zone of their own (bridge and bond members, the PPPoE carrier, aliases). */
export const NO_ZONE_ROLES: ReadonlySet<string> = new Set(['slave', 'bridged', 'pppoe', 'alias']);

/** Interface record types that carry a role (as NetworksDB's interfaces()). */
export const INTERFACE_TYPES: ReadonlySet<string> = new Set(['ethernet', 'bridge', 'bond', 'vlan', 'xdsl']);

/** Longest zone name Gatehouse writes (Shorewall's default MAXZONENAMELENGTH). */
export const ZONE_NAME_MAX = 5;

/** Names Shorewall refuses as zones, plus the firewall's own zone. */
const SHOREWALL_RESERVED = ['all', 'any', 'none', 'source', 'dest', 'fw'];

/** The zone a role makes: the built-in ones, else its first 5 characters. */
export function zoneOfRole(role: string): string {
  return ROLE_ZONES[role] ?? role.slice(0, ZONE_NAME_MAX);
}

/**
 * Why `zone` cannot be the zone of a custom role or a zone record, or undefined. Built-in
 * zone names belong to the built-in roles: a custom role named `net` or `orangutan` would
 * otherwise join the internet or the DMZ zone.
 */
export function reservedZoneProblem(zone: string): string | undefined {
  const lower = zone.toLowerCase();
  if (SHOREWALL_RESERVED.includes(lower) || lower.startsWith('all2') || lower.endsWith('2all')) {
    return `'${zone}' is reserved by Shorewall (${SHOREWALL_RESERVED.join(', ')}, all2*, *2all)`;
  }
  const builtin = Object.entries(ROLE_ZONES).find(([, z]) => z === lower);
  if (builtin) return `'${zone}' is the zone of the built-in role ${builtin[0]}`;
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(zone)) return `'${zone}' does not start with a letter followed by letters, digits or _`;
  return undefined;
}

/** A free zone-like name for a suggestion: the first 4 characters and a digit. */
export function suggestZoneName(wanted: string, taken: ReadonlySet<string>): string {
  const stem = wanted.replace(/[^A-Za-z0-9_]/g, '').slice(0, ZONE_NAME_MAX - 1) || 'z';
  for (let i = 1; i < 10; i++) {
    const candidate = `${stem}${i}`;
    if (!taken.has(candidate) && reservedZoneProblem(candidate) === undefined) return candidate;
  }
  return `${stem.slice(0, 2)}x${taken.size % 10}`;
}

/** One zone clash: the record that cannot have its zone, and why. */
export interface ZoneClash {
  key: string;
  prop: 'role' | undefined;
  message: string;
  hint: string;
}

/**
 * Every zone clash in a networks database: a custom role or zone record whose zone is
 * reserved, or taken by a different role or zone record. Roles are claimed in key order
 * (the first interface of a role owns its zone), then zone records in key order; the
 * records in `claimLast` (those a write changes) claim after all others, so the clash is
 * blamed on the change.
 */
export function zoneClashes(networks: Database, claimLast: ReadonlySet<string> = new Set()): ZoneClash[] {
  const owners = new Map<string, string>(); // zone -> 'role X' | 'zone record K'
  const out: ZoneClash[] = [];
  const sorted = Object.keys(networks).sort();
  const keys = [...sorted.filter((k) => !claimLast.has(k)), ...sorted.filter((k) => claimLast.has(k))];
  for (const key of keys) {
    const rec = networks[key]!;
    if (!INTERFACE_TYPES.has(rec.type)) continue;
    const role = Object.hasOwn(rec.props, 'role') ? rec.props['role'] ?? '' : '';
    if (role === '' || NO_ZONE_ROLES.has(role)) continue;
    const zone = zoneOfRole(role);
    const owner = `role ${role}`;
    const claimed = owners.get(zone);
    if (claimed === owner) continue;
    const taken = new Set(owners.keys());
    const builtin = Object.hasOwn(ROLE_ZONES, role);
    const reserved = builtin ? undefined : reservedZoneProblem(zone);
    if (reserved || claimed !== undefined) {
      const name = suggestZoneName(zone, taken);
      out.push({
        key,
        prop: 'role',
        message: `role '${role}' would be zone '${zone}', but ${reserved ?? `${claimed} already is zone '${zone}'`}`,
        hint: `roles become zones of their first ${ZONE_NAME_MAX} characters; choose a role such as '${name}'`,
      });
      continue;
    }
    owners.set(zone, owner);
  }
  for (const key of keys) {
    if (networks[key]!.type !== 'zone') continue;
    const zone = key.slice(0, ZONE_NAME_MAX);
    const reserved = reservedZoneProblem(zone);
    const claimed = owners.get(zone) ?? [...owners].find(([z]) => z.toLowerCase() === zone.toLowerCase())?.[1];
    if (reserved || claimed !== undefined) {
      out.push({
        key,
        prop: undefined,
        message: `zone record '${key}' would be zone '${zone}', but ${reserved ?? `${claimed} already is zone '${zone}'`}`,
        hint: `name the zone record differently, e.g. '${suggestZoneName(zone, new Set(owners.keys()))}'`,
      });
      continue;
    }
    owners.set(zone, `zone record ${key}`);
  }
  return out;
}
