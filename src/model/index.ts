/**
 * The gateway model: a pure function from the databases to a typed, resolved view of the
 * network, with the rows of every generated Shorewall file (IPv4 and IPv6) ready to print.
 * Every reference that does not resolve is a GatehouseError naming the record and the
 * missing object.
 */
import type { Database } from '../db/index.js';
import { buildFamilyFiles } from './files.js';
import { buildMultiWan } from './multiwan.js';
import { buildOneToOneNat, buildPortForwards } from './nat.js';
import { readNetwork } from './network.js';
import { objectResolver } from './objects.js';
import { buildFilterRules, buildServiceRules } from './rules.js';
import { serviceResolver } from './services.js';
import { readSettings } from './settings.js';
import { utcOffsetMinutes } from './times.js';
import type { BuildModelOptions, GatewayModel } from './types.js';

export type * from './types.js';
export { commentText } from './text.js';
export { utcOffsetMinutes, utcWindows } from './times.js';
// The pieces the traffic-shaping stage (src/qos) resolves class rules with.
export { objectResolver, type ObjectResolver, type Endpoint } from './objects.js';
export { serviceResolver, type ServiceResolver } from './services.js';
export { readNetwork, type NetworkView } from './network.js';
export { sortRuleKeys } from './rules.js';
export { propOf } from './settings.js';
export { row } from './text.js';
export type { MultiWanRows, ProviderView } from './multiwan.js';

export function buildModel(dbs: Record<string, Database>, options: BuildModelOptions = {}): GatewayModel {
  const configuration = dbs['configuration'] ?? {};
  const settings = readSettings(configuration);
  const view = readNetwork(dbs['networks'] ?? {});
  const objects = objectResolver(view, dbs);
  const services = serviceResolver(dbs);
  // Asked only when a rule has a time window: the first use of Intl costs ~12 ms in a fresh process.
  let offset: number | undefined;
  const offsetMinutes = (): number =>
    (offset ??= utcOffsetMinutes(options.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone, options.now ?? new Date()));

  const filter = buildFilterRules(dbs, objects, services, offsetMinutes);
  const localServices = buildServiceRules(configuration, view);
  const forwards = buildPortForwards(dbs['portforward'] ?? {}, view, objects, settings);
  const oneToOne = buildOneToOneNat(dbs['networks'] ?? {}, view, objects);

  const files = (family: 'ipv4' | 'ipv6') =>
    buildFamilyFiles(family, view, settings, dbs, {
      allRules: filter[family].all,
      rules: filter[family].rules,
      services: localServices[family],
      portForwards: forwards.dnat[family],
      oneToOne,
      hairpin: forwards.hairpin,
    });

  return {
    mode: view.mode,
    settings,
    interfaces: view.interfaces,
    zones: view.zones,
    v4: files('ipv4'),
    v6: files('ipv6'),
    multiwan: buildMultiWan(dbs, view, objects, services),
  };
}

/** Every file the gateway fragments produce; the firewall save event expands these. */
export const GATEWAY_TARGETS: readonly string[] = [
  ...['shorewall.conf', 'params', 'zones', 'interfaces', 'hosts', 'policy', 'rules', 'snat', 'nat', 'maclist', 'stoppedrules'].map((f) => `/etc/shorewall/${f}`),
  ...['providers', 'rtrules', 'routes', 'mangle'].map((f) => `/etc/shorewall/${f}`),
  ...['shorewall6.conf', 'params', 'zones', 'interfaces', 'hosts', 'policy', 'rules', 'snat', 'nat', 'maclist', 'stoppedrules', 'mangle'].map((f) => `/etc/shorewall6/${f}`),
  '/etc/firehol/fireqos.conf',
];
