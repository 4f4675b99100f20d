/**
 * Policy routing files with Shorewall 5.2's meaning: providers (man shorewall-providers),
 * rtrules (shorewall-rtrules) and routes (shorewall-routes). IPv4 only: Shorewall6's
 * providers do not balance, and Gatehouse routes IPv6 by the kernel's default.
 * What Shorewall accepts and Gatehouse cannot honour yet is refused, naming the column.
 */
import { SHOREWALL_COLUMNS } from './columns.js';
import { PROVIDER_MASK, PROVIDER_SHIFT } from '../marks/index.js';
import ipaddr from 'ipaddr.js';
import type { FileItem, Row } from './lines.js';
import type { Interface, SourcePlace } from './types.js';

export const PROVIDER_COLUMNS = SHOREWALL_COLUMNS.providers;
export const RTRULE_COLUMNS = SHOREWALL_COLUMNS.rtrules;
export const ROUTE_COLUMNS = SHOREWALL_COLUMNS.routes;

/** Provider marks live in 0xf0000 (PROVIDER_OFFSET=16, PROVIDER_BITS=4). */
export const PROVIDER_MARK_MASK = PROVIDER_MASK;

export interface Provider {
  name: string;
  /** 1..15: routing table number and, shifted by 16, the mark. */
  number: number;
  mark: number;
  /** Kernel interface name. */
  interface: string;
  /** An IPv4 address, `detect` (learned on the target at apply time) or `none` (no default route). */
  gateway: string;
  /** Weight in the balanced default route; undefined when the provider does not balance. */
  balance: number | undefined;
  /** Fallback weight in the default table, when given. */
  fallback: number | undefined;
  /** Inbound connections are answered through this provider. */
  track: boolean;
  /** Its table and source rules stay while it is down. */
  persistent: boolean;
  /** No `from <interface address>` rules. */
  loose: boolean;
  place: SourcePlace;
}

export interface RoutingRule {
  /** Source address or network, or an interface (`iif`); undefined for any. */
  source: { address?: string; interface?: string } | undefined;
  dest: string | undefined;
  /** Provider name, or `main`. */
  table: string;
  priority: number;
  /** Stays while its provider is down (`PRIORITY!`). */
  persistent: boolean;
  mark: { value: number; mask: number } | undefined;
  place: SourcePlace;
}

export interface StaticRoute {
  /** `main` or a provider name. */
  table: string;
  dest: string;
  gateway: string | undefined;
  kind: 'unicast' | 'blackhole' | 'prohibit' | 'unreachable';
  device: string | undefined;
  persistent: boolean;
  /** Route metric (`metric=N` in OPTIONS, a Gatehouse extension: Shorewall's routes file has none). */
  metric: number | undefined;
  place: SourcePlace;
}

export interface RoutingConfig {
  providers: Provider[];
  rtrules: RoutingRule[];
  routes: StaticRoute[];
}

function dataRows(items: FileItem[]): Row[] {
  const out: Row[] = [];
  for (const item of items) if (item.kind === 'row') out.push(item.row);
  return out;
}

function noExtra(row: Row): void {
  const extra = row.extraColumnIndex();
  if (extra !== undefined) throw row.fail(extra, 'unexpected extra column', 'remove it, or check for a stray space');
}

function ipv4Network(text: string): string | undefined {
  try {
    if (text.includes('/')) {
      const [ip, prefix] = ipaddr.parseCIDR(text);
      if (ip.kind() !== 'ipv4') return undefined;
      return `${ipaddr.IPv4.networkAddressFromCIDR(text).toString()}/${prefix}`;
    }
    return ipaddr.IPv4.isValidFourPartDecimal(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

function integer(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : undefined;
}

const RESERVED = new Set(['local', 'main', 'default', 'unspec', 'balance']);
const NOT_YET_OPTIONS = ['load', 'tproxy', 'src', 'mtu'];

export function parseProviders(items: FileItem[], interfaces: Map<string, Interface>): Provider[] {
  const out: Provider[] = [];
  for (const row of dataRows(items)) {
    noExtra(row);
    const name = row.need(0, 'a provider name');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || RESERVED.has(name)) {
      throw row.fail(0, `'${name}' cannot name a provider`, 'a shell variable name other than local, main, default, unspec or balance');
    }
    if (out.some((p) => p.name === name)) throw row.fail(0, `provider '${name}' is defined twice`);
    const number = integer(row.need(1, 'a number from 1 to 15'));
    if (number === undefined || number < 1 || number > 15) throw row.fail(1, `provider number '${row.get(1) ?? ''}' is outside 1..15`, 'expected 1..15');
    if (out.some((p) => p.number === number)) throw row.fail(1, `provider number ${number} is used twice`, 'each provider needs its own number');
    const markText = row.get(2);
    const mark = markText === undefined ? number << PROVIDER_SHIFT : integer(markText);
    if (mark === undefined || (mark & ~PROVIDER_MARK_MASK) !== 0 || mark === 0) {
      throw row.fail(2, `mark '${markText}' is not a provider mark`, 'expected a value inside 0xf0000, like 0x10000 (or - for number << 16)');
    }
    if (out.some((p) => p.mark === mark)) throw row.fail(2, `mark ${markText} is used twice`);
    const duplicate = row.get(3);
    if (duplicate !== undefined) throw row.fail(3, 'DUPLICATE is not supported (Gatehouse routes with USE_DEFAULT_RT=Yes)', 'write -');
    const ifaceText = row.need(4, 'an interface from the interfaces file');
    if (ifaceText.includes(':')) throw row.fail(4, 'several providers on one interface are not supported yet', 'one provider per interface');
    const iface = interfaces.get(ifaceText);
    if (!iface) throw row.fail(4, `interface '${ifaceText}' is not in the interfaces file`, `expected one of: ${[...interfaces.keys()].join(', ')}`);
    if (out.some((p) => p.interface === iface.physical)) throw row.fail(4, `interface '${ifaceText}' already has a provider`, 'one provider per interface');
    const gatewayText = row.get(5) ?? 'detect';
    if (gatewayText !== 'detect' && gatewayText !== 'none' && !ipaddr.IPv4.isValidFourPartDecimal(gatewayText)) {
      throw row.fail(5, `gateway '${gatewayText}' is not an IPv4 address`, 'expected an address, detect or none');
    }
    const provider: Provider = {
      name,
      number,
      mark,
      interface: iface.physical,
      gateway: gatewayText,
      balance: undefined,
      fallback: undefined,
      track: true,
      persistent: false,
      loose: false,
      place: { file: 'providers', line: row.line },
    };
    for (const option of (row.get(6) ?? '').split(',').filter((o) => o !== '')) {
      const [key, value] = option.split('=') as [string, string | undefined];
      const weight = (): number => {
        if (value === undefined) return 1;
        const w = integer(value);
        if (w === undefined || w < 1 || w > 256) throw row.fail(6, `weight '${value}' in ${key} is not a whole number from 1 to 256`);
        return w;
      };
      switch (key) {
        case 'balance':
          provider.balance = weight();
          break;
        case 'primary':
          provider.balance = 1;
          break;
        case 'fallback':
          provider.fallback = weight();
          break;
        case 'track':
          provider.track = true;
          break;
        case 'notrack':
          provider.track = false;
          break;
        case 'persistent':
          provider.persistent = true;
          break;
        case 'loose':
          provider.loose = true;
          break;
        // Host routes to the gateway and optional interfaces: Gatehouse always adds the
        // gateway's route and never lets a missing address block an apply.
        case 'optional':
        case 'autosrc':
        case 'noautosrc':
        case 'hostroute':
        case 'nohostroute':
          break;
        default:
          throw row.fail(
            6,
            NOT_YET_OPTIONS.includes(key) ? `provider option '${key}' is not supported yet` : `unknown provider option '${key}'`,
            'expected balance[=w], primary, fallback[=w], track, notrack, persistent, loose, optional',
          );
      }
    }
    const copy = row.get(7);
    if (copy !== undefined && copy !== 'none') throw row.fail(7, 'COPY is not supported (the main table is consulted first instead)', 'write - or none');
    out.push(provider);
  }
  return out;
}

function tableName(row: Row, index: number, providers: Provider[]): string {
  const text = row.need(index, 'a provider name or number, or main');
  if (text === 'main' || text === '254') return 'main';
  const p = providers.find((x) => x.name === text || String(x.number) === text);
  if (!p) throw row.fail(index, `no provider '${text}'`, `expected main or one of: ${providers.map((x) => x.name).join(', ') || '(no providers)'}`);
  return p.name;
}

export function parseRtrules(items: FileItem[], providers: Provider[], interfaces: Map<string, Interface>): RoutingRule[] {
  const out: RoutingRule[] = [];
  for (const row of dataRows(items)) {
    noExtra(row);
    const sourceText = row.get(0);
    let source: RoutingRule['source'];
    if (sourceText !== undefined) {
      if (sourceText.startsWith('&') || sourceText.includes(',')) throw row.fail(0, `source '${sourceText}' is not supported yet`, 'an address, a network or an interface');
      const [first, rest] = sourceText.split(':') as [string, string | undefined];
      const iface = interfaces.get(first) ?? (first === 'lo' ? undefined : undefined);
      if (iface || first === 'lo') {
        const address = rest === undefined ? undefined : ipv4Network(rest);
        if (rest !== undefined && address === undefined) throw row.fail(0, `'${rest}' is not an IPv4 address or network`);
        source = { interface: iface?.physical ?? 'lo', ...(address === undefined ? {} : { address }) };
      } else {
        const address = ipv4Network(sourceText);
        if (address === undefined) throw row.fail(0, `'${sourceText}' is neither an interface nor an IPv4 address or network`);
        source = { address };
      }
    }
    const destText = row.get(1);
    const dest = destText === undefined ? undefined : ipv4Network(destText);
    if (destText !== undefined && dest === undefined) throw row.fail(1, `'${destText}' is not an IPv4 address or network`);
    if (source === undefined && destText === undefined) throw row.fail(0, 'SOURCE and DEST are both empty', 'give at least one');
    const table = tableName(row, 2, providers);
    const priorityText = row.need(3, 'a priority');
    const persistent = priorityText.endsWith('!');
    const priority = integer(persistent ? priorityText.slice(0, -1) : priorityText);
    if (priority === undefined || priority < 1 || priority > 32765) throw row.fail(3, `priority '${priorityText}' is not a number from 1 to 32765`);
    const markText = row.get(4);
    let mark: RoutingRule['mark'];
    if (markText !== undefined) {
      const [v, m] = markText.split('/') as [string, string | undefined];
      const value = integer(v);
      const mask = m === undefined ? PROVIDER_MARK_MASK : integer(m);
      if (value === undefined || mask === undefined) throw row.fail(4, `'${markText}' is not a mark`, 'expected value[/mask]');
      mark = { value, mask };
    }
    out.push({ source, dest, table, priority, persistent, mark, place: { file: 'rtrules', line: row.line } });
  }
  return out;
}

export function parseRoutes(items: FileItem[], providers: Provider[]): StaticRoute[] {
  const out: StaticRoute[] = [];
  for (const row of dataRows(items)) {
    noExtra(row);
    const table = tableName(row, 0, providers);
    const destText = row.need(1, 'a destination address or network');
    const dest = ipv4Network(destText);
    if (dest === undefined) throw row.fail(1, `'${destText}' is not an IPv4 address or network`);
    const gatewayText = row.get(2);
    let kind: StaticRoute['kind'] = 'unicast';
    let gateway: string | undefined;
    if (gatewayText === 'blackhole' || gatewayText === 'prohibit' || gatewayText === 'unreachable') kind = gatewayText;
    else if (gatewayText !== undefined) {
      if (!ipaddr.IPv4.isValidFourPartDecimal(gatewayText)) throw row.fail(2, `gateway '${gatewayText}' is not an IPv4 address`, 'expected an address, blackhole, prohibit or unreachable');
      gateway = gatewayText;
    }
    const device = row.get(3);
    if (kind !== 'unicast' && device !== undefined) throw row.fail(3, `a ${kind} route takes no DEVICE`);
    const provider = providers.find((p) => p.name === table);
    if (kind === 'unicast' && gateway === undefined && device === undefined && !provider) throw row.fail(2, 'a main-table route needs a GATEWAY or a DEVICE');
    let persistent = false;
    let metric: number | undefined;
    for (const option of (row.get(4) ?? '').split(',').filter((o) => o !== '')) {
      const m = /^metric=(\d+)$/.exec(option);
      if (option === 'persistent') persistent = true;
      else if (m && Number(m[1]) <= 4_294_967_295 && metric === undefined) metric = Number(m[1]);
      else throw row.fail(4, `unknown route option '${option}'`, 'expected persistent and/or metric=N (N 0..4294967295, once)');
    }
    out.push({
      table,
      dest,
      gateway,
      kind,
      device: device ?? (kind === 'unicast' && gateway === undefined ? provider?.interface : undefined),
      persistent,
      metric,
      place: { file: 'routes', line: row.line },
    });
  }
  return out;
}
