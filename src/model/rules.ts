/** fwrules records (filter rules) and local services to rule rows, per family. */
import type { Database } from '../db/index.js';
import { GatehouseError, type Place } from '../errors/index.js';
import type { Family } from './addresses.js';
import type { NetworkView } from './network.js';
import type { Ipv6GapReport } from './ipv6-gaps.js';
import { type Endpoint, type ObjectResolver, endpointText, inFamily } from './objects.js';
import { type ServicePorts, type ServiceResolver, localServicePorts } from './services.js';
import { propOf } from './settings.js';
import { commentText, row } from './text.js';
import { type UtcOffsets, utcWindows } from './times.js';
import type { CommentedRows, ModelWarning } from './types.js';

const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const ACTIONS = new Set(['accept', 'drop', 'reject']);
const LOG_LEVELS = new Set(['none', 'debug', 'info', 'notice', 'warning', 'err', 'crit', 'alert', 'emerg']);

/**
 * Fail closed: a record whose rows cannot be built is skipped with a warning only when
 * leaving it out closes access (an ACCEPT rule, a port forward); a DROP or REJECT rule
 * left out would open a hole, so its error fails the event.
 */
export function skipOrFail(e: unknown, opensAccess: boolean, what: string, warn: (w: ModelWarning) => void): void {
  if (!(e instanceof GatehouseError) || !opensAccess) throw e;
  warn({ place: e.place, message: `${what} skipped: ${e.message}${e.hint ? ` (${e.hint})` : ''}` });
}

export interface FamilyRuleSets {
  all: CommentedRows[];
  rules: CommentedRows[];
}

function numeric(text: string | undefined): number {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) ? n : 0;
}

/** Rule keys in Position order, ties by key (numerically when both keys are numbers). */
export function sortRuleKeys(fwrules: Database, keys: string[]): string[] {
  // Position and the key's number read once per key, not once per comparison.
  const sortable = keys.map((key) => ({ key, position: numeric(propOf(fwrules, key, 'Position')), number: Number(key) }));
  sortable.sort((a, b) => {
    const d = a.position - b.position;
    if (d !== 0) return d;
    if (Number.isFinite(a.number) && Number.isFinite(b.number) && a.number !== b.number) return a.number - b.number;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
  sortable.forEach((s, i) => (keys[i] = s.key));
  return keys;
}

/** Log suffix for an action: `''` for none, `:info` and so on. */
export function logSuffix(db: Database, dbName: string, key: string): string {
  const log = (propOf(db, key, 'Log') ?? 'none').toLowerCase();
  if (!LOG_LEVELS.has(log)) {
    throw new GatehouseError(`Log is '${log}'`, { place: { db: dbName, key, prop: 'Log' }, hint: `use one of: ${[...LOG_LEVELS].join(', ')}` });
  }
  return log === 'none' ? '' : `:${log}`;
}

/**
 * Src and Dst that cannot describe real traffic: the firewall to itself, the internet to
 * itself, or one address (object) to itself. A whole inner zone to itself stays allowed:
 * two green interfaces exchange traffic through the firewall.
 */
function pointless(srcRef: string, dstRef: string, src: Endpoint[], dst: Endpoint[]): string | undefined {
  if (srcRef.toLowerCase() === 'fw' && dstRef.toLowerCase() === 'fw') return 'the firewall to itself';
  const wholeNet = (e: Endpoint[]): boolean => e.length > 0 && e.every((x) => x.zone === 'net' && x.addresses.length === 0);
  if (wholeNet(src) && wholeNet(dst)) return 'the internet (red) to the internet';
  if (srcRef === dstRef && src.some((e) => e.addresses.length > 0)) return `'${srcRef}' to itself`;
  return undefined;
}

/** A DROP/REJECT rule's hosts without an IPv6 side, for the warnings worked out from the IPv6 ruleset (ipv6-gaps.ts). */
function reportIpv6Gaps(
  objects: ObjectResolver,
  key: string,
  action: string,
  srcRef: string,
  dstRef: string,
  src: Endpoint[],
  dst: Endpoint[],
  servicePorts: ServicePorts[],
  place: (prop: string) => Place,
  report: (g: Ipv6GapReport) => void,
): void {
  const srcGaps = objects.ipv6Gaps(srcRef, place('Src'), true);
  const dstGaps = objects.ipv6Gaps(dstRef, place('Dst'), false);
  if (srcGaps.length === 0 && dstGaps.length === 0) return;
  // A service of IPv4 only (icmp) has no IPv6 traffic for the rule to miss.
  const ports = servicePorts.filter((p) => p.families.includes('ipv6'));
  if (ports.length === 0) return;
  const zones = (ends: Endpoint[], gaps: { zone: string }[]): string[] => [
    ...new Set([...ends.filter((e) => inFamily(e, 'ipv6')).map((e) => e.zone), ...gaps.map((g) => g.zone)]),
  ];
  for (const g of srcGaps) report({ key, action, prop: 'Src', host: g.host, hostType: objects.hostType(g.host), zone: g.zone, others: zones(dst, dstGaps), ports });
  for (const g of dstGaps) report({ key, action, prop: 'Dst', host: g.host, hostType: objects.hostType(g.host), zone: g.zone, others: zones(src, srcGaps), ports });
}

export function buildFilterRules(
  dbs: Record<string, Database>,
  objects: ObjectResolver,
  services: ServiceResolver,
  /** The local time zone's offsets from UTC; called only when a rule has a time window. */
  offsetMinutes: () => UtcOffsets,
  warn: (w: ModelWarning) => void = () => {},
  /** Hosts a DROP/REJECT rule names without an IPv6 side (see ipv6-gaps.ts). */
  onIpv6Gap: (g: Ipv6GapReport) => void = () => {},
): Record<Family, FamilyRuleSets> {
  const fwrules = dbs['fwrules'] ?? {};
  const fwtimes = dbs['fwtimes'] ?? {};
  const out: Record<Family, FamilyRuleSets> = { ipv4: { all: [], rules: [] }, ipv6: { all: [], rules: [] } };
  const timeCache = new Map<string, string[]>();

  const keys = Object.keys(fwrules).filter((k) => fwrules[k]?.type === 'rule');
  for (const key of sortRuleKeys(fwrules, keys)) {
    const place = (prop: string): Place => ({ db: 'fwrules', key, prop });
    const actionText = propOf(fwrules, key, 'Action') ?? '';
    // Traffic-shaping (class;) and divert (provider;) rules belong to the mangle stage.
    if (/^(class|provider);/i.test(actionText)) continue;
    if ((propOf(fwrules, key, 'status') ?? 'enabled') === 'disabled') continue;
    if (!ACTIONS.has(actionText.toLowerCase())) {
      throw new GatehouseError(`Action is '${actionText}'`, { place: place('Action'), hint: 'use accept, drop or reject (or class;K / provider;K for shaping and divert rules)' });
    }
    const action = actionText.toUpperCase() + logSuffix(fwrules, 'fwrules', key);
    const state = (propOf(fwrules, key, 'State') ?? 'new').toLowerCase();
    if (state !== 'new' && state !== 'all') throw new GatehouseError(`State is '${state}'`, { place: place('State'), hint: 'use new or all' });

    try {
      const srcRef = propOf(fwrules, key, 'Src');
      const dstRef = propOf(fwrules, key, 'Dst');
      if (srcRef === undefined) throw new GatehouseError('rule has no Src', { place: place('Src'), hint: 'use any, fw, an address or an object reference' });
      if (dstRef === undefined) throw new GatehouseError('rule has no Dst', { place: place('Dst'), hint: 'use any, fw, an address or an object reference' });
      const accept = actionText.toLowerCase() === 'accept';
      const srcAll = objects.endpoints(srcRef, place('Src'), { allowMac: true });
      // A reservation's MAC stands for its IPv6 side only to refuse it (see Endpoint.byMac).
      const src = accept && srcAll.some((e) => e.byMac) ? srcAll.filter((e) => !e.byMac) : srcAll;
      const dst = objects.endpoints(dstRef, place('Dst'));

      const why = pointless(srcRef, dstRef, src, dst);
      if (why) throw new GatehouseError(`rule goes from ${why}`, { place: place('Dst'), hint: 'Src and Dst must describe traffic between two different places' });

      const service = services.resolve(propOf(fwrules, key, 'Service') ?? 'any', place('Service'));
      if (!accept) reportIpv6Gaps(objects, key, actionText.toUpperCase(), srcRef, dstRef, src, dst, service.ports, place, onIpv6Gap);
      if (service.local && dstRef.toLowerCase() !== 'fw') {
        throw new GatehouseError('a local service (service;K) runs on the firewall, but Dst is not fw', { place: place('Service'), hint: 'set Dst to fw or use a fwservice' });
      }

      const timeRef = propOf(fwrules, key, 'Time');
      let times = ['-'];
      if (timeRef !== undefined) {
        const cached = timeCache.get(timeRef);
        if (cached) times = cached;
        else {
          const timeKey = timeRef.startsWith('time;') ? timeRef.slice(5) : undefined;
          if (timeKey === undefined || fwtimes[timeKey]?.type !== 'time') {
            throw new GatehouseError(`refers to time '${timeRef}', which does not exist`, { place: place('Time'), hint: 'use time;K with K a record of type time in fwtimes' });
          }
          times = utcWindows(fwtimes, timeKey, offsetMinutes());
          timeCache.set(timeRef, times);
        }
      }

      const comment = commentText(`RULE#${key} ${propOf(fwrules, key, 'Description') ?? ''}`);
      let emitted = 0;
      const built: { family: Family; rows: CommentedRows['rows'] }[] = [];
      for (const family of FAMILIES) {
        // Loops that skip the other family, not filtered copies: this runs twice for every rule.
        const rows = [];
        for (const s of src) {
          if (!inFamily(s, family)) continue;
          const source = endpointText(s);
          for (const d of dst) {
            if (!inFamily(d, family)) continue;
            const dest = endpointText(d);
            for (const p of service.ports) {
              if (!p.families.includes(family)) continue;
              for (const t of times) rows.push(row(action, source, dest, p.proto, p.dport, '', '', '', '', '', '', t));
            }
          }
        }
        if (rows.length === 0) continue;
        emitted += rows.length;
        built.push({ family, rows });
      }
      if (emitted === 0) {
        throw new GatehouseError(`rule matches no address family: Src '${srcRef}', Dst '${dstRef}' and Service have no IPv4 or IPv6 side in common`, {
          place: place('Src'),
          hint: 'use objects of the same family on both sides (icmp services are IPv4 only, ipv6-icmp ones such as ping6 IPv6 only)',
        });
      }
      for (const b of built) out[b.family][state === 'all' ? 'all' : 'rules'].push({ comment, rows: b.rows });
    } catch (e) {
      skipOrFail(e, actionText.toLowerCase() === 'accept', 'ACCEPT rule', warn);
    }
  }
  return out;
}

const LEGACY_ACCESS: Record<string, string[]> = { none: [], private: ['green'], public: ['green', 'red'] };
const BUILTIN_ROLES = new Set(['green', 'red', 'blue', 'orange']);

/** Local services (configuration records of type service) opened from the zones in `access`. */
export function buildServiceRules(configuration: Database, view: NetworkView, warn: (w: ModelWarning) => void = () => {}): Record<Family, CommentedRows[]> {
  const out: Record<Family, CommentedRows[]> = { ipv4: [], ipv6: [] };
  for (const key of Object.keys(configuration).sort()) {
    if (configuration[key]?.type !== 'service') continue;
    if ((propOf(configuration, key, 'status') ?? 'enabled') !== 'enabled') continue;
    const accessText = propOf(configuration, key, 'access') ?? 'none';
    const items = accessText.split(',').map((s) => s.trim()).filter((s) => s !== '').flatMap((a) => LEGACY_ACCESS[a] ?? [a]);
    const zones: { zone: string; families: Family[] }[] = [];
    for (const item of items) {
      const record = view.zoneRecords.get(item);
      let found: { zone: string; families: Family[] } | undefined;
      if (record) found = { zone: record.zone, families: record.network6 ? FAMILIES : [record.network.family] };
      else if (item === 'red' && view.mode === 'server') found = { zone: 'net', families: FAMILIES };
      else {
        const iface = view.interfaces.find((i) => i.role === item);
        if (iface) found = { zone: iface.zone, families: FAMILIES };
        else if (!BUILTIN_ROLES.has(item)) {
          // Opening less than asked only closes access: the rest of the list still applies.
          warn({
            place: { db: 'configuration', key, prop: 'access' },
            message: `'${item}' skipped: it is neither a role in use nor a zone record (list roles such as green, red, blue, orange, custom roles in use, or zone record keys)`,
          });
        }
      }
      if (found && !zones.some((z) => z.zone === found.zone)) zones.push(found);
    }
    if (zones.length === 0) continue;
    const ports = localServicePorts(configuration, key);
    if (ports.length === 0) continue;
    for (const family of FAMILIES) {
      const rows = [];
      for (const z of zones) {
        if (!z.families.includes(family)) continue;
        for (const p of ports) rows.push(row('ACCEPT', z.zone, '$FW', p.proto, p.dport));
      }
      if (rows.length > 0) out[family].push({ comment: commentText(`service ${key}`), rows });
    }
  }
  return out;
}
