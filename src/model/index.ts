/**
 * The gateway model: a pure function from the databases to a typed, resolved view of the
 * network, with the rows of every generated Shorewall file (IPv4 and IPv6) ready to print.
 * Every reference that does not resolve is a GatehouseError naming the record and the
 * missing object.
 */
import type { Database } from '../db/index.js';
// The db stage's validation entry (loaded lazily by db commands, see loadValidation):
// the model reads records through the same schema db writes them with.
import { validateDatabase, problemsError } from '../db/validation.js';
import { isUnusedProp, unusedPropReason } from '../db/legacy.js';
import { formatPlace } from '../errors/index.js';
import { buildFamilyFiles } from './files.js';
import { type MultiWanRows, buildMultiWan } from './multiwan.js';
import { named, namedGroups } from './text.js';
import { buildOneToOneNat, buildPortForwards } from './nat.js';
import { readNetwork, withRoutedNetworks } from './network.js';
import { type Ipv6GapReport, ipv6GapWarnings } from './ipv6-gaps.js';
import { objectResolver } from './objects.js';
import { buildFilterRules, buildServiceRules } from './rules.js';
import { serviceResolver } from './services.js';
import { readSettings } from './settings.js';
import { type UtcOffsets, localUtcOffsets } from './times.js';
import type { BuildModelOptions, GatewayModel, ModelWarning } from './types.js';
import { unsupportedSettingWarnings } from './unsupported.js';

export type * from './types.js';
export { commentText } from './text.js';
export { OFFSET_HORIZON_DAYS, localTimeZone, localUtcOffsets, rulesWithTimeWindows, timeWindowsHorizon, type TimeWindowsHorizon, timeWindowsOf, utcOffsetMinutes, utcOffsetPeriods, utcWindows, type OffsetPeriod, type UtcOffsets } from './times.js';
// The pieces the traffic-shaping stage (src/qos) resolves class rules with.
export { objectResolver, type ObjectResolver, type Endpoint } from './objects.js';
export { serviceResolver, type ServiceResolver } from './services.js';
export { readNetwork, zoneRecordNetwork, type NetworkView, type ZoneRecord } from './network.js';
export { sortRuleKeys } from './rules.js';
export { propOf } from './settings.js';
export { named, namedGroups, row } from './text.js';
export type { MultiWanRows, ProviderView } from './multiwan.js';

/** `db/key/prop: message`, one line, as signal-event prints it. */
export function formatWarning(w: ModelWarning): string {
  const where = formatPlace(w.place);
  return where ? `${where}: ${w.message}` : w.message;
}

/**
 * Every record must pass the schema `db` writes with, so a value is valid everywhere or
 * nowhere; a hand-edited or older file fails here with db's own one-line message.
 */
function assertSchemaValid(dbs: Record<string, Database>, warn: (w: ModelWarning) => void): void {
  for (const name of Object.keys(dbs).sort()) {
    const db = dbs[name]!;
    const problems = validateDatabase(name, db);
    // A malformed prop nothing reads (a migrated box's unused gateway, a reservation's MAC) is kept with a warning, as `db import` keeps it.
    const unused = problems.filter((p) => p.prop !== undefined && Object.hasOwn(db, p.key) && isUnusedProp(name, db[p.key]!, p.prop));
    for (const p of unused) warn({ place: { db: name, key: p.key, prop: p.prop! }, message: `${p.message}; it has no effect: ${unusedPropReason(name, p.prop!)}` });
    const blocking = problems.filter((p) => !unused.includes(p));
    if (blocking.length > 0) throw problemsError(blocking);
  }
}

/**
 * The databases as objects without a prototype: a record or member named `constructor` or
 * `toString` is looked up as a record, never found on Object.prototype.
 */
function withoutPrototypes(dbs: Record<string, Database>): Record<string, Database> {
  const out: Record<string, Database> = Object.create(null);
  for (const name of Object.keys(dbs)) {
    const db: Database = Object.create(null);
    for (const key of Object.keys(dbs[name]!)) {
      const rec = dbs[name]![key]!;
      db[key] = { type: rec.type, props: Object.assign(Object.create(null) as Record<string, string>, rec.props) };
    }
    out[name] = db;
  }
  // A database that is absent reads as empty, and without a prototype too.
  const empty: Database = Object.freeze(Object.create(null) as Database);
  return new Proxy(out, { get: (target, name) => (typeof name === 'string' && name in target ? target[name] : empty) });
}

/** The multi-WAN rows named by their files' columns, for fragments. */
function namedMultiWan(rows: MultiWanRows): MultiWanRows {
  return {
    ...rows,
    providerRows: named('providers', rows.providerRows),
    rtrules: named('rtrules', rows.rtrules),
    divert: namedGroups('mangle', rows.divert),
    routes: namedGroups('routes', rows.routes),
  };
}

export function buildModel(input: Record<string, Database>, options: BuildModelOptions = {}): GatewayModel {
  const warnings: ModelWarning[] = [];
  const warn = (w: ModelWarning): void => void warnings.push(w);
  assertSchemaValid(input, warn);
  const dbs = withoutPrototypes(input);
  const configuration = dbs['configuration'] ?? {};
  const settings = readSettings(configuration);
  const view = withRoutedNetworks(readNetwork(dbs['networks'] ?? {}), dbs['routes'] ?? {});
  const objects = objectResolver(view, dbs);
  const services = serviceResolver(dbs);
  // Asked only when a rule has a time window: the first use of Intl costs ~12 ms in a fresh process.
  let offsets: UtcOffsets | undefined;
  const offsetMinutes = (): UtcOffsets => (offsets ??= localUtcOffsets(configuration, options));

  const ipv6Gaps: Ipv6GapReport[] = [];
  const filter = buildFilterRules(dbs, objects, services, offsetMinutes, warn, (g) => void ipv6Gaps.push(g));
  const localServices = buildServiceRules(configuration, view, warn);
  const forwards = buildPortForwards(dbs['portforward'] ?? {}, view, objects, settings, warn);
  const oneToOne = buildOneToOneNat(dbs['networks'] ?? {}, view, objects, warn);
  warnings.push(...unsupportedSettingWarnings(dbs, view));
  // Features other stages are still building: one line each, removed when they land.

  const files = (family: 'ipv4' | 'ipv6') =>
    buildFamilyFiles(family, view, settings, dbs, {
      allRules: filter[family].all,
      rules: filter[family].rules,
      services: localServices[family],
      portForwards: forwards.dnat[family],
      oneToOne,
      hairpin: forwards.hairpin,
    });

  const v4 = files('ipv4');
  const v6 = files('ipv6');
  // Read from the IPv6 ruleset itself: a host's missing IPv6 side matters only where it would be accepted.
  warnings.push(...ipv6GapWarnings(ipv6Gaps, v6));
  return {
    mode: view.mode,
    settings,
    interfaces: view.interfaces,
    zones: view.zones,
    v4,
    v6,
    warnings,
    multiwan: namedMultiWan(buildMultiWan(dbs, view, objects, services, oneToOne, offsetMinutes)),
  };
}

/** Every file the gateway fragments produce; the firewall save event expands these. */
export const GATEWAY_TARGETS: readonly string[] = [
  ...['shorewall.conf', 'params', 'zones', 'interfaces', 'hosts', 'policy', 'rules', 'snat', 'nat', 'maclist', 'stoppedrules'].map((f) => `/etc/shorewall/${f}`),
  ...['providers', 'rtrules', 'routes', 'mangle'].map((f) => `/etc/shorewall/${f}`),
  ...['shorewall6.conf', 'params', 'zones', 'interfaces', 'hosts', 'policy', 'rules', 'snat', 'nat', 'maclist', 'stoppedrules', 'mangle'].map((f) => `/etc/shorewall6/${f}`),
  '/etc/firehol/fireqos.conf',
];
