/**
 * References between records: their written form (`host;web`, `role;green`, ...) and
 * where each kind points. The validator checks forms; `findReferences` lists the records
 * that would be left dangling by a delete.
 */
import type { Database } from '../store.js';
import { type ValueCheck, isAddressOrCIDR, objectName, portOrRange, roleName } from './checks.js';

/** `prefix;key` references and the database and record types they point into. */
export const REFERENCE_KINDS: Record<string, { db: string; types: string[] }> = {
  host: { db: 'hosts', types: ['host', 'local', 'remote', 'self'] },
  'host-group': { db: 'hosts', types: ['host-group'] },
  cidr: { db: 'hosts', types: ['cidr'] },
  iprange: { db: 'hosts', types: ['iprange'] },
  zone: { db: 'networks', types: ['zone'] },
  provider: { db: 'networks', types: ['provider'] },
  mac: { db: 'macs', types: ['mac'] },
  fwservice: { db: 'fwservices', types: ['fwservice'] },
  service: { db: 'configuration', types: ['service'] },
  time: { db: 'fwtimes', types: ['time'] },
  class: { db: 'tc', types: ['class'] },
};

/** Split `prefix;rest` at the first semicolon; undefined when there is none. */
export function splitReference(value: string): { prefix: string; name: string } | undefined {
  const at = value.indexOf(';');
  if (at < 0) return undefined;
  return { prefix: value.slice(0, at), name: value.slice(at + 1) };
}

function referenceCheck(prefixes: string[], literal: (v: string) => boolean, valid: string): ValueCheck {
  return (v) => {
    if (literal(v)) return undefined;
    const ref = splitReference(v);
    if (ref && prefixes.includes(ref.prefix)) {
      const check = ref.prefix === 'role' ? roleName : objectName;
      return check(ref.name) === undefined ? undefined : valid;
    }
    return valid;
  };
}

const ADDRESS_PREFIXES = ['role', 'zone', 'host', 'host-group', 'cidr', 'iprange'];
const anyOrFw = (v: string): boolean => v.toLowerCase() === 'any' || v === 'fw';

/** Rule destination: any, fw, an address or network, or an object reference. */
export const ruleDestination: ValueCheck = referenceCheck(
  ADDRESS_PREFIXES,
  (v) => anyOrFw(v) || isAddressOrCIDR(v),
  'any, fw, an IP address or network, or role;<role>, zone;<k>, host;<k>, host-group;<k>, cidr;<k>, iprange;<k>',
);

/** Rule source: as a destination, plus mac;<k>. */
export const ruleSource: ValueCheck = referenceCheck(
  [...ADDRESS_PREFIXES, 'mac'],
  (v) => anyOrFw(v) || isAddressOrCIDR(v),
  'any, fw, an IP address or network, or role;<role>, zone;<k>, host;<k>, host-group;<k>, cidr;<k>, iprange;<k>, mac;<k>',
);

export const ruleService: ValueCheck = (v) => {
  if (v.toLowerCase() === 'any') return undefined;
  if (/^\d+([-:]\d+)?$/.test(v)) return portOrRange(v);
  const ref = splitReference(v);
  if (ref && ['fwservice', 'service', 'ndpi'].includes(ref.prefix) && objectName(ref.name) === undefined) return undefined;
  // A bare name, as the spec and NethServer write it: the fwservice of that name, else the local service.
  if (!ref && objectName(v) === undefined) return undefined;
  return 'any, a service name (fwservice, else local service), fwservice;<k>, service;<k>, ndpi;<protocol>, a port 1..65535 or a range low-high';
};

export const ruleAction: ValueCheck = (v) => {
  if (['accept', 'drop', 'reject'].includes(v.toLowerCase())) return undefined;
  const ref = splitReference(v);
  if (ref && (ref.prefix === 'class' || ref.prefix === 'provider') && objectName(ref.name) === undefined) return undefined;
  return 'accept, drop or reject (any case), class;<tc class> or provider;<provider>';
};

export const ruleTime: ValueCheck = (v) => {
  const ref = splitReference(v);
  return ref && ref.prefix === 'time' && objectName(ref.name) === undefined ? undefined : 'time;<fwtimes key> or empty';
};

/** Port-forward destination host, sNAT objects: an address or a host-like object. */
export const hostObject: ValueCheck = referenceCheck(
  ['host', 'cidr', 'iprange', 'host-group'],
  isAddressOrCIDR,
  'an IP address, or host;<k>, host-group;<k>, cidr;<k>, iprange;<k>',
);

/** Who may use a port forward: addresses or networks (`!` excludes one), or host objects, comma separated. */
export const allowList: ValueCheck = (v) => {
  for (const item of v.split(',')) {
    const literal = item.startsWith('!') ? item.slice(1) : item;
    const problem = isAddressOrCIDR(literal) ? undefined : referenceCheck(['host', 'host-group', 'cidr', 'iprange'], () => false, 'x')(item);
    if (problem) {
      return `a comma list of IP addresses or networks (! before one excludes it), or host;<k>, host-group;<k>, cidr;<k>, iprange;<k> ('${item}' is not one)`;
    }
  }
  return undefined;
};

/** A record that refers to another. */
export interface Referrer {
  db: string;
  key: string;
  prop: string;
}

/**
 * Records in `databases` that refer to `target` (the record `key` of `type` in `db`):
 * `prefix;key` anywhere in a comma list of any prop, host-group Members naming a host,
 * and zones named by macs Zone or a configuration service's access list.
 */
export function findReferences(
  databases: Record<string, Database>,
  target: { db: string; key: string; type: string },
): Referrer[] {
  const tokens = new Set<string>();
  for (const [prefix, kind] of Object.entries(REFERENCE_KINDS)) {
    if (kind.db === target.db && kind.types.includes(target.type)) tokens.add(`${prefix};${target.key}`);
  }
  const hostLike = REFERENCE_KINDS['host']!.types.includes(target.type) && target.db === 'hosts';
  const zone = target.db === 'networks' && target.type === 'zone';
  const out: Referrer[] = [];
  for (const dbName of Object.keys(databases).sort()) {
    const db = databases[dbName]!;
    for (const key of Object.keys(db).sort()) {
      if (dbName === target.db && key === target.key) continue;
      const rec = db[key]!;
      for (const prop of Object.keys(rec.props).sort()) {
        const items = rec.props[prop]!.split(',');
        const bare =
          (hostLike && dbName === 'hosts' && rec.type === 'host-group' && prop === 'Members') ||
          (zone && dbName === 'macs' && prop === 'Zone') ||
          (zone && dbName === 'configuration' && rec.type === 'service' && prop === 'access');
        if (items.some((item) => tokens.has(item) || (bare && item === target.key))) out.push({ db: dbName, key, prop });
      }
    }
  }
  return out;
}

/** Whether deleting records of this db and type must check for references. */
export function isReferenceTarget(db: string, type: string): boolean {
  return Object.values(REFERENCE_KINDS).some((k) => k.db === db && k.types.includes(type));
}
