/**
 * Multi-WAN rows: providers (networks records of type provider), the backup order and
 * divert rules (fwrules with Action provider;NAME), and static routes (routes database).
 * Everything the databases alone can show to be wrong is an error naming the record;
 * what only the target can tell (a gateway learned by DHCP, an address not there yet) is
 * left to the routing apply, which never blocks on it.
 */
import { PROVIDER_MASK, hexMark, providerMark } from '../marks/index.js';
import type { Database } from '../db/index.js';
import { GatehouseError, type Place } from '../errors/index.js';
import { contains, networkOf, parseHostOrNetwork, plainText, prefixOfNetmask, type ParsedAddress } from './addresses.js';
import type { NetworkView } from './network.js';
import type { ObjectResolver } from './objects.js';
import { sortRuleKeys } from './rules.js';
import type { ServiceResolver } from './services.js';
import { propOf } from './settings.js';
import { commentText, row } from './text.js';
import { type UtcOffsets, timeWindowsOf } from './times.js';
import type { CommentedRows, Row } from './types.js';

/** Shorewall's limit (provider numbers 1..15) and the provider mark bits 0xf0000. */
const PROVIDERS_MAX = 15;
/** rtrules priorities of the backup order: the highest weight gets the lowest (first) one. */
const BACKUP_PRIORITY = 26900;
/** rtrules priority of 1:1 NAT source bindings: after the provider marks (10000+N), before the rest (NethServer's 30nat). */
const ONE_TO_ONE_PRIORITY = 11000;

export interface ProviderView {
  name: string;
  number: number;
  interface: string;
  weight: number;
  gateway: string;
}

export interface MultiWanRows {
  mode: 'balance' | 'backup';
  providers: ProviderView[];
  /** etc/shorewall/providers */
  providerRows: Row[];
  /** etc/shorewall/rtrules: the backup order */
  rtrules: Row[];
  /** etc/shorewall/rtrules: hosts with 1:1 source NAT bound to the provider of their alias's red interface */
  oneToOne: CommentedRows[];
  /** etc/shorewall/mangle, divert rules */
  divert: CommentedRows[];
  /** etc/shorewall/routes, static routes into the main table */
  routes: CommentedRows[];
}

function wanMode(configuration: Database): 'balance' | 'backup' {
  const raw = propOf(configuration, 'firewall', 'WanMode') ?? 'balance';
  const mode = raw.toLowerCase();
  if (mode === 'balance' || mode === 'backup') return mode;
  throw new GatehouseError(`WanMode is '${raw}'`, { place: { db: 'configuration', key: 'firewall', prop: 'WanMode' }, hint: 'use balance or backup' });
}

function readProviders(networks: Database, view: NetworkView): ProviderView[] {
  const keys = Object.keys(networks)
    .filter((k) => networks[k]?.type === 'provider')
    .sort();
  if (keys.length > PROVIDERS_MAX) {
    throw new GatehouseError(`${keys.length} providers are defined; at most ${PROVIDERS_MAX} fit the provider mark`, {
      place: { db: 'networks', key: keys[PROVIDERS_MAX]! },
      hint: `delete providers until ${PROVIDERS_MAX} remain`,
    });
  }
  const byInterface = new Map<string, string>();
  return keys.map((name, i) => {
    const place = (prop: string): Place => ({ db: 'networks', key: name, prop });
    if (['local', 'main', 'default', 'unspec', 'balance'].includes(name) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new GatehouseError(`'${name}' cannot name a provider`, {
        place: { db: 'networks', key: name },
        hint: 'a provider name starts with a letter, holds letters, digits or _, and is not local, main, default, unspec or balance',
      });
    }
    const ifaceName = propOf(networks, name, 'interface');
    const iface = ifaceName === undefined ? undefined : view.byName.get(ifaceName);
    const reds = view.interfaces.filter((x) => x.role === 'red').map((x) => x.name);
    if (ifaceName === undefined || !iface || iface.role !== 'red') {
      throw new GatehouseError(
        ifaceName === undefined
          ? 'provider has no interface'
          : iface
            ? `interface '${ifaceName}' has role ${iface.role}, not red`
            : `interface '${ifaceName}' does not exist`,
        { place: place('interface'), hint: reds.length > 0 ? `use a red interface: ${reds.join(', ')}` : 'give an interface the red role first' },
      );
    }
    const other = byInterface.get(ifaceName);
    if (other !== undefined) {
      throw new GatehouseError(`interface '${ifaceName}' already belongs to provider '${other}'`, {
        place: place('interface'),
        hint: 'one provider per red interface',
      });
    }
    byInterface.set(ifaceName, name);
    const weightText = propOf(networks, name, 'weight') ?? '1';
    const weight = Number(weightText);
    if (!/^\d+$/.test(weightText) || weight < 1 || weight > 255) {
      throw new GatehouseError(`weight '${weightText}' is not a whole number from 1 to 255`, { place: place('weight'), hint: 'for example weight 2' });
    }
    const gatewayText = propOf(networks, ifaceName, 'gateway');
    let gateway = 'detect';
    if (gatewayText !== undefined && propOf(networks, ifaceName, 'bootproto') !== 'dhcp') {
      const parsed = parseHostOrNetwork(gatewayText);
      if (!parsed || parsed.kind !== 'host' || parsed.family !== 'ipv4') {
        throw new GatehouseError(`gateway '${gatewayText}' is not an IPv4 address`, { place: { db: 'networks', key: ifaceName, prop: 'gateway' }, hint: 'write it like 203.0.113.1' });
      }
      gateway = gatewayText;
    }
    return { name, number: i + 1, interface: ifaceName, weight, gateway };
  });
}

/** Interfaces of a role, for divert sources (`role;green` -> green0). */
function roleInterfaces(view: NetworkView, role: string, place: Place): string[] {
  const names = view.interfaces.filter((i) => i.role === role).map((i) => i.name);
  if (names.length === 0) throw new GatehouseError(`no interface has the role ${role}`, { place, hint: 'use a role in use, an address or an object' });
  return names;
}

function divertSources(ref: string, view: NetworkView, objects: ObjectResolver, place: Place): string[] {
  const lower = ref.toLowerCase();
  if (lower === 'any') return ['-'];
  if (lower === 'fw') return ['$FW'];
  if (lower.startsWith('role;')) {
    const role = ref.slice(5);
    if (role === 'red') throw new GatehouseError('a divert rule cannot start on the red role', { place, hint: 'divert traffic from green, blue, orange, an address or an object' });
    return roleInterfaces(view, role, place);
  }
  return ipv4Addresses(ref, objects, place);
}

function divertDestinations(ref: string, objects: ObjectResolver, place: Place): string[] {
  const lower = ref.toLowerCase();
  if (lower === 'any' || lower === 'role;red') return ['-'];
  if (lower.startsWith('role;') || lower === 'fw') {
    throw new GatehouseError(`a divert rule cannot go to ${ref}`, { place, hint: 'use any, role;red, an address, a network or an object on the internet side' });
  }
  return ipv4Addresses(ref, objects, place);
}

function ipv4Addresses(ref: string, objects: ObjectResolver, place: Place): string[] {
  const out = objects
    .endpoints(ref, place)
    .filter((e) => e.family === 'ipv4')
    .flatMap((e) => e.plain);
  if (out.length === 0) throw new GatehouseError(`'${ref}' has no IPv4 address (multi-WAN routing is IPv4 only)`, { place, hint: 'use an IPv4 address, network or object' });
  return out.map((a) => (a === '0.0.0.0/0' ? '-' : a));
}

/** TIME in etc/shorewall/mangle (IPv4): after ACTION..HELPER (12), PROBABILITY, DSCP and STATE. */
const MANGLE_TIME_COLUMN = 15;

function divertRules(
  fwrules: Database,
  fwtimes: Database,
  offsetMinutes: () => UtcOffsets,
  view: NetworkView,
  objects: ObjectResolver,
  services: ServiceResolver,
  providers: ProviderView[],
): CommentedRows[] {
  const out: CommentedRows[] = [];
  const keys = Object.keys(fwrules).filter((k) => fwrules[k]?.type === 'rule' && /^provider;/i.test(propOf(fwrules, k, 'Action') ?? ''));
  for (const key of sortRuleKeys(fwrules, keys)) {
    if ((propOf(fwrules, key, 'status') ?? 'enabled') === 'disabled') continue;
    const place = (prop: string): Place => ({ db: 'fwrules', key, prop });
    const name = (propOf(fwrules, key, 'Action') ?? '').slice('provider;'.length);
    const provider = providers.find((p) => p.name === name);
    if (!provider) {
      throw new GatehouseError(`refers to provider '${name}', which does not exist`, {
        place: place('Action'),
        hint: providers.length > 0 ? `known providers: ${providers.map((p) => p.name).join(', ')}` : 'create it: db networks set NAME provider interface <red> weight 1',
      });
    }
    const srcRef = propOf(fwrules, key, 'Src') ?? 'any';
    const dstRef = propOf(fwrules, key, 'Dst') ?? 'any';
    const serviceRef = propOf(fwrules, key, 'Service') ?? 'any';
    const sources = divertSources(srcRef, view, objects, place('Src'));
    const dests = divertDestinations(dstRef, objects, place('Dst'));
    const ports = services.resolve(serviceRef, place('Service')).ports.filter((p) => p.families.includes('ipv4'));
    if (sources.every((s) => s === '-') && dests.every((d) => d === '-') && ports.every((p) => p.proto === '')) {
      throw new GatehouseError('a divert rule for any source, any destination and any service would move all traffic', {
        place: place('Src'),
        hint: 'narrow Src, Dst or Service, or use WanMode backup with this provider first',
      });
    }
    // A divert rule with a time window diverts only inside it, as its filter counterpart does.
    const times = timeWindowsOf(fwtimes, propOf(fwrules, key, 'Time'), place('Time'), offsetMinutes);
    // The mask keeps the class bits another rule may have set.
    const mark = `MARK(${hexMark(providerMark(provider.number))}/${hexMark(PROVIDER_MASK)})`;
    const rows: Row[] = [];
    for (const s of sources) {
      for (const d of dests) {
        for (const p of ports) {
          for (const t of times) {
            if (t === '-') rows.push(row(mark, s, d, p.proto, p.dport));
            else rows.push(row(mark, s, d, p.proto, p.dport, ...Array<string>(MANGLE_TIME_COLUMN - 5).fill('-'), t));
          }
        }
      }
    }
    out.push({ comment: commentText(`RULE#${key} ${propOf(fwrules, key, 'Description') ?? `provider ${name}`}`), rows });
  }
  return out;
}

interface ConnectedNetwork {
  iface: string;
  network: ParsedAddress & { kind: 'network' };
}

function staticRoutes(routes: Database, view: NetworkView, connected: ConnectedNetwork[], hasProviders: boolean): CommentedRows[] {
  const out: CommentedRows[] = [];
  for (const key of Object.keys(routes).sort()) {
    if (routes[key]?.type !== 'static') continue;
    const place = (prop?: string): Place => (prop ? { db: 'routes', key, prop } : { db: 'routes', key });
    const mask = propOf(routes, key, 'Mask');
    let dest: string;
    if (key === 'default') dest = '0.0.0.0/0';
    else {
      // The spec's own example keys a host by its address and gives Mask: both forms are accepted.
      const prefix = mask === undefined ? undefined : prefixOfNetmask(mask);
      if (mask !== undefined && prefix === undefined) throw new GatehouseError(`Mask '${mask}' is not a netmask`, { place: place('Mask'), hint: 'write it like 255.255.255.0, or key the record by a CIDR' });
      const parsed = parseHostOrNetwork(prefix === undefined ? key : `${key}/${prefix}`);
      if (!parsed || parsed.kind === 'range' || parsed.family !== 'ipv4') {
        throw new GatehouseError(`'${key}' is not an IPv4 destination`, { place: place(), hint: 'key a static route by a CIDR such as 10.0.0.0/24, or default' });
      }
      dest = plainText(parsed.kind === 'host' ? networkOf(parsed.ip, 32) : networkOf(parsed.ip, parsed.prefix));
    }
    if (dest === '0.0.0.0/0' && hasProviders) {
      throw new GatehouseError('a static default route conflicts with the providers, which own the default route', {
        place: place(),
        hint: 'delete this route, or delete the provider records',
      });
    }
    const router = propOf(routes, key, 'Router');
    const routerIp = router === undefined ? undefined : parseHostOrNetwork(router);
    if (!routerIp || routerIp.kind !== 'host' || routerIp.family !== 'ipv4') {
      throw new GatehouseError(`Router '${router ?? ''}' is not an IPv4 address`, { place: place('Router'), hint: 'the next hop, like 192.168.1.254' });
    }
    const device = propOf(routes, key, 'Device');
    const candidates = connected.filter((c) => device === undefined || c.iface === device);
    const onLink = candidates.find((c) => contains(c.network, routerIp.ip));
    // Interfaces without a static address (DHCP) cannot be judged here; the kernel judges them.
    const judgeable = device === undefined ? view.interfaces.every((i) => i.ipv4.length > 0) : view.byName.get(device)?.ipv4.length !== 0;
    if (!onLink && judgeable) {
      throw new GatehouseError(`Router ${router} is in no network connected to ${device ?? 'the firewall'}`, {
        place: place('Router'),
        hint: `use a next hop inside ${connected.filter((c) => device === undefined || c.iface === device).map((c) => `${plainText(c.network)} (${c.iface})`).join(', ') || 'a connected network'}`,
      });
    }
    // The routes file has no metric column: Gatehouse reads metric=N in OPTIONS.
    const metric = propOf(routes, key, 'Metric');
    if (metric !== undefined && (!/^\d+$/.test(metric) || Number(metric) > 4_294_967_295)) throw new GatehouseError(`Metric '${metric}' is not a whole number`, { place: place('Metric'), hint: 'a route metric 0..4294967295, lower is preferred' });
    out.push({
      comment: commentText(`route ${key} ${propOf(routes, key, 'Description') ?? ''}`),
      rows: [row('main', dest, router!, device ?? onLink?.iface ?? '', metric === undefined ? '' : `metric=${Number(metric)}`)],
    });
  }
  return out;
}

/** The smallest list of IPv4 networks covering start..end (rtrules take no ranges). */
export function rangeToNetworks(start: string, end: string): string[] {
  const num = (ip: string): number => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const text = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
  const out: string[] = [];
  for (let at = num(start), last = num(end); at <= last; ) {
    let bits = 0;
    while (bits < 32 && at % 2 ** (bits + 1) === 0 && at + 2 ** (bits + 1) - 1 <= last) bits++;
    out.push(bits === 0 ? text(at) : `${text(at)}/${32 - bits}`);
    at += 2 ** bits;
  }
  return out;
}

/**
 * 1:1 source NAT (an alias of a red interface with FwObjectNat, `snat` rows SNAT(alias)
 * <addresses> <red>) only works for connections that leave by that red interface: each
 * address is bound to the provider of that interface, as NethServer's rtrules/30nat does.
 * Without a provider on the interface there is nothing to choose, so no rule.
 */
function oneToOneBindings(snat: CommentedRows[], providers: ProviderView[]): CommentedRows[] {
  const out: CommentedRows[] = [];
  for (const entry of snat) {
    const rows: Row[] = [];
    for (const r of entry.rows) {
      const [, sources, red] = r.cells as [string, string | undefined, string | undefined];
      const provider = providers.find((p) => p.interface === red);
      if (!provider || sources === undefined) continue;
      for (const source of sources.split(',')) {
        const range = /^([\d.]+)-([\d.]+)$/.exec(source);
        for (const net of range ? rangeToNetworks(range[1]!, range[2]!) : [source]) rows.push(row(net, '-', provider.name, String(ONE_TO_ONE_PRIORITY)));
      }
    }
    if (rows.length > 0) out.push({ comment: entry.comment, rows });
  }
  return out;
}

export function buildMultiWan(
  dbs: Record<string, Database>,
  view: NetworkView,
  objects: ObjectResolver,
  services: ServiceResolver,
  oneToOneNat: CommentedRows[],
  /** The local time zone's offsets from UTC (the filter rules'); called only when a divert rule has a time window. */
  offsetMinutes: () => UtcOffsets,
): MultiWanRows {
  const networks = dbs['networks'] ?? {};
  const mode = wanMode(dbs['configuration'] ?? {});
  const providers = readProviders(networks, view);
  const providerRows = providers.map((p) =>
    row(p.name, String(p.number), hexMark(providerMark(p.number)), '-', p.interface, p.gateway, `balance=${p.weight},persistent,track`),
  );
  const rtrules: Row[] = [];
  if (mode === 'backup') {
    const order = [...providers].sort((a, b) => b.weight - a.weight || a.number - b.number);
    order.forEach((p, i) => rtrules.push(row('-', '0.0.0.0/0', p.name, String(BACKUP_PRIORITY + i))));
  }
  const connected: ConnectedNetwork[] = view.interfaces.flatMap((i) =>
    i.ipv4.map((a) => ({ iface: i.name, network: parseHostOrNetwork(a.network) as ParsedAddress & { kind: 'network' } })),
  );
  return {
    mode,
    providers,
    providerRows,
    rtrules,
    oneToOne: oneToOneBindings(oneToOneNat, providers),
    divert: divertRules(dbs['fwrules'] ?? {}, dbs['fwtimes'] ?? {}, offsetMinutes, view, objects, services, providers),
    routes: staticRoutes(dbs['routes'] ?? {}, view, connected, providers.length > 0),
  };
}
