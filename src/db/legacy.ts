/**
 * NethServer 7's legacy record forms, migrated on import the way NethServer's own migrate
 * fragments (or its templates) read them, so a record copied from an old box keeps its
 * meaning instead of being refused (pure functions).
 */
import type { DbRecord } from './store.js';

export interface MigratedRecord {
  key: string;
  record: DbRecord;
  /** How it was changed, one phrase each (empty: imported as it was). */
  changes: string[];
}

/** Props that nothing in Gatehouse (nor NethServer's firewall) reads: kept as they are even when malformed. */
export function isUnusedProp(db: string, rec: DbRecord, prop: string): boolean {
  if (db === 'networks' && prop === 'gateway') return (rec.props['role'] ?? '') !== 'red';
  if (db === 'hosts' && rec.type === 'local' && prop === 'MacAddress') return true;
  return false;
}

/** Why an unused prop is unused, for the report. */
export function unusedPropReason(db: string, prop: string): string {
  if (db === 'networks' && prop === 'gateway') return 'a gateway is read only on red interfaces';
  if (db === 'hosts' && prop === 'MacAddress') return 'read only by MAC validation and to refuse a reservation over IPv6, which both skip a reservation without a valid MAC';
  return 'not read by Gatehouse';
}

const dotted = (mask: string): number | undefined => {
  const parts = mask.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  const n = parts.reduce((acc, p) => acc * 256 + Number(p), 0);
  const len = 32 - Math.log2(2 ** 32 - n);
  return Number.isInteger(len) && len >= 0 && len <= 32 ? len : undefined;
};

// IPv4 helpers for Allow exclusions (an unsigned 32-bit number and a prefix length).
type Net = { base: number; len: number };
const ipv4 = (text: string): number | undefined => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
};
const parseNet = (text: string): Net | undefined => {
  const [addr, len] = text.split('/');
  const base = ipv4(addr ?? '');
  const l = len === undefined ? 32 : /^\d{1,2}$/.test(len) && Number(len) <= 32 ? Number(len) : undefined;
  if (base === undefined || l === undefined) return undefined;
  const size = 2 ** (32 - l);
  return { base: base - (base % size), len: l };
};
const contains = (outer: Net, inner: Net): boolean => inner.len >= outer.len && Math.floor(inner.base / 2 ** (32 - outer.len)) === Math.floor(outer.base / 2 ** (32 - outer.len));
const formatNet = (n: Net): string => {
  const octets = [24, 16, 8, 0].map((s) => Math.floor(n.base / 2 ** s) % 256);
  return `${octets.join('.')}/${n.len}`;
};

/** `base` minus `excluded`, as the fewest networks (NethServer passes `a!b,c` to Shorewall; this is what it matches). */
export function subtractNetworks(base: Net, excluded: Net[]): Net[] {
  let nets = [base];
  for (const ex of excluded) {
    const next: Net[] = [];
    for (const n of nets) {
      if (contains(ex, n)) continue; // wholly excluded
      if (!contains(n, ex)) {
        next.push(n);
        continue;
      }
      // Split n in halves until the excluded network is one of the pieces.
      let cur = n;
      while (cur.len < ex.len) {
        const half = 2 ** (32 - cur.len - 1);
        const low = { base: cur.base, len: cur.len + 1 };
        const high = { base: cur.base + half, len: cur.len + 1 };
        const [keep, into] = contains(low, ex) ? [high, low] : [low, high];
        next.push(keep);
        cur = into;
      }
    }
    nets = next.sort((a, b) => a.base - b.base || a.len - b.len);
  }
  return nets;
}

/**
 * A port forward's Allow in Shorewall's exclusion syntax (`!10.2.10.4`,
 * `192.168.1.0/24!192.168.1.3,192.168.1.9`) as the plain list of networks it matches, or
 * undefined when the value has no exclusion or cannot be read.
 */
export function expandAllowExclusions(allow: string): string[] | undefined {
  const bang = allow.indexOf('!');
  if (bang < 0) return undefined;
  const head = allow.slice(0, bang).trim();
  const base = head === '' ? { base: 0, len: 0 } : parseNet(head);
  const excluded = allow.slice(bang + 1).split(',').map((s) => parseNet(s.trim()));
  if (base === undefined || head.includes(',') || excluded.some((e) => e === undefined)) return undefined;
  return subtractNetworks(base, excluded as Net[]).map((n) => (n.len === 32 ? formatNet(n).slice(0, -3) : formatNet(n)));
}

/** Migrate one record of database `db` from a NethServer 7 form to the current one. */
export function migrateLegacyRecord(db: string, key: string, rec: DbRecord): MigratedRecord {
  const props = { ...rec.props };
  const changes: string[] = [];
  let newKey = key;
  if (db === 'tc' && rec.type === 'class' && props['Unit'] === 'kbps') {
    // NethServer's tc migration: kbps was always meant as kbit.
    props['Unit'] = 'kbit';
    changes.push('Unit kbps -> kbit');
  }
  if (db === 'networks' && props['FwObjectNat'] !== undefined && /(^|,)local;/.test(props['FwObjectNat'])) {
    // Old sNAT records named DHCP reservations local;K; they are hosts records like any other.
    const before = props['FwObjectNat'];
    props['FwObjectNat'] = before.split(',').map((r) => r.replace(/^local;/, 'host;')).join(',');
    changes.push(`FwObjectNat ${before} -> ${props['FwObjectNat']}`);
  }
  if (db === 'portforward' && rec.type === 'pf' && props['Allow'] !== undefined) {
    const expanded = expandAllowExclusions(props['Allow']);
    if (expanded) {
      changes.push(`Allow ${props['Allow']} -> ${expanded.length} network(s) ${expanded.join(',')} (the same addresses, without Shorewall's ! exclusion)`);
      props['Allow'] = expanded.join(',');
    }
  }
  if (db === 'routes' && rec.type === 'static' && props['Mask'] !== undefined && !key.includes('/')) {
    // The spec's old form: key = network address, Mask = netmask. Now the key is the CIDR.
    const len = dotted(props['Mask']);
    if (len !== undefined && ipv4(key) !== undefined) {
      const net = parseNet(`${key}/${len}`)!;
      newKey = formatNet(net);
      changes.push(`key ${key} with Mask ${props['Mask']} -> ${newKey}`);
      delete props['Mask'];
    }
  }
  if (db === 'fwrules' && rec.type === 'rule' && /^priority;(high|low)$/.test(props['Action'] ?? '')) {
    const before = props['Action']!;
    props['Action'] = before.replace(/^priority;/, 'class;');
    changes.push(`Action ${before} -> ${props['Action']}`);
  }
  if (db === 'configuration' && rec.type === 'service' && /^(private|public)$/.test(props['access'] ?? '')) {
    // NethServer's migration of the old access values (none stays none: no zone).
    const before = props['access']!;
    props['access'] = before === 'private' ? 'green' : 'green,red';
    changes.push(`access ${before} -> ${props['access']}`);
  }
  if (db === 'configuration' && key === 'firewall') {
    for (const dead of ['nfqueue', 'tc']) {
      if (props[dead] !== undefined) {
        changes.push(`${dead}=${props[dead]} removed (NethServer's migration removes it; it has no effect)`);
        delete props[dead];
      }
    }
  }
  return { key: newKey, record: { type: rec.type, props }, changes };
}
