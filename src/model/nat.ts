/** Port forwards (DNAT rules and hairpin SNAT), one-to-one source NAT and masquerading. */
import type { Database } from '../db/index.js';
import { GatehouseError, type Place } from '../errors/index.js';
import { type Family, type ParsedAddress, contains, parseHostOrNetwork, plainText, shorewallText } from './addresses.js';
import { type NetworkView, zoneOfAddress } from './network.js';
import type { ObjectResolver } from './objects.js';
import { logSuffix, skipOrFail } from './rules.js';
import { portList } from './services.js';
import { propOf } from './settings.js';
import { commentText, row } from './text.js';
import type { CommentedRows, FirewallSettings, ModelWarning, Row } from './types.js';

const PF_PROTOCOLS: Record<string, string> = { tcp: 'tcp', udp: 'udp', tcpudp: 'tcp,udp', 'tcp,udp': 'tcp,udp', gre: 'gre', ah: 'ah', esp: 'esp' };

export interface PortForwardRows {
  dnat: Record<Family, CommentedRows[]>;
  hairpin: CommentedRows[];
}

function interfaceHolding(view: NetworkView, ip: ParsedAddress & { kind: 'host' }): { name: string } | undefined {
  for (const iface of view.interfaces) {
    for (const a of iface[ip.family]) {
      const net = parseHostOrNetwork(a.network);
      if (net?.kind === 'network' && contains(net, ip.ip)) return iface;
    }
  }
  return undefined;
}

export function buildPortForwards(
  portforward: Database,
  view: NetworkView,
  objects: ObjectResolver,
  settings: FirewallSettings,
  warn: (w: ModelWarning) => void = () => {},
): PortForwardRows {
  const out: PortForwardRows = { dnat: { ipv4: [], ipv6: [] }, hairpin: [] };
  const reds = view.interfaces.filter((i) => i.role === 'red');
  const zones = new Set(view.interfaces.map((i) => i.zone));
  const sources = ['net', ...(settings.hairpinNat ? ['loc', 'blue', 'orang'].filter((z) => zones.has(z)) : [])];
  const redAddresses: Record<Family, string[]> = { ipv4: [], ipv6: [] };
  for (const red of reds) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      redAddresses[family].push(`&${red.name}`);
      // Aliases of a red interface are extra public addresses.
      for (const a of red[family]) if (a.record !== red.name) redAddresses[family].push(family === 'ipv6' ? `[${a.address}]` : a.address);
    }
  }

  const keys = Object.keys(portforward).filter((k) => portforward[k]?.type === 'pf');
  keys.sort((a, b) => (Number(a) - Number(b)) || (a < b ? -1 : a > b ? 1 : 0));
  for (const key of keys) {
    if ((propOf(portforward, key, 'status') ?? 'enabled') === 'disabled') continue;
    try {
      forward(key);
    } catch (e) {
      // A port forward left out only closes access.
      skipOrFail(e, true, 'port forward', warn);
    }
  }
  return out;

  function forward(key: string): void {
    const place = (prop: string): Place => ({ db: 'portforward', key, prop });
    const dstHostRef = propOf(portforward, key, 'DstHost');
    if (dstHostRef === undefined) {
      throw new GatehouseError('port forward has no DstHost', { place: place('DstHost'), hint: 'set DstHost to the internal IP address or a host;K object' });
    }
    const srcHost = propOf(portforward, key, 'SrcHost');
    if (srcHost !== undefined) {
      // NethServer writes it into the wrong column; guessing what it was meant to restrict
      // could open the forward wider than intended, so the forward is left out.
      throw new GatehouseError(`SrcHost '${srcHost}' is not supported`, { place: place('SrcHost'), hint: 'restrict who may use the forward with Allow instead' });
    }
    const targets = objects.addresses(dstHostRef, place('DstHost'));
    const target = targets[0];
    if (targets.length !== 1 || !target || target.kind !== 'host') {
      throw new GatehouseError(`DstHost '${dstHostRef}' is not a single host`, { place: place('DstHost'), hint: 'forward to one address: an IP or a host;K object' });
    }
    const family = target.family;
    if (reds.length === 0) {
      throw new GatehouseError('port forward needs a red interface, but none is configured (server mode)', { place: place('DstHost'), hint: 'give an interface the red role or disable the port forward' });
    }
    const protoText = (propOf(portforward, key, 'Proto') ?? 'tcp,udp').toLowerCase();
    const proto = PF_PROTOCOLS[protoText];
    if (proto === undefined) throw new GatehouseError(`Proto is '${protoText}'`, { place: place('Proto'), hint: 'use tcp, udp, tcpudp, gre, ah or esp' });
    const hasPorts = proto === 'tcp' || proto === 'udp' || proto === 'tcp,udp';
    const srcText = propOf(portforward, key, 'Src');
    const dstText = propOf(portforward, key, 'Dst');
    if (!hasPorts && (srcText !== undefined || dstText !== undefined)) {
      throw new GatehouseError(`Proto ${proto} has no ports, but Src or Dst is set`, { place: place('Src'), hint: 'leave Src and Dst empty for gre, ah and esp' });
    }
    const srcPorts = srcText === undefined ? '' : portList(srcText);
    if (srcPorts === undefined) throw new GatehouseError(`Src '${srcText ?? ''}' is not a port or range`, { place: place('Src'), hint: 'write a port (2222), a list (80,443) or a range (8000:8010)' });
    // Dst is the one internal port every external port goes to, for a list or a range too
    // (NethServer ignored it for a range, which opened the internal ports the range names).
    let targetPort = '';
    if (dstText !== undefined) {
      const p = portList(dstText);
      if (p === undefined || p.includes(':') || p.includes(',')) throw new GatehouseError(`Dst '${dstText}' is not a port`, { place: place('Dst'), hint: 'write one port number, or leave it empty to keep Src' });
      targetPort = p;
    }
    const allowText = propOf(portforward, key, 'Allow');
    let allow = '';
    if (allowText !== undefined) {
      const items = allowText.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const listed = items.flatMap((item) => {
        const negated = item.startsWith('!');
        const text = negated ? item.slice(1) : item;
        // host;K, host-group;K, cidr;K, iprange;K name their addresses; literals stand for themselves.
        const parsedList = !negated && text.includes(';') ? objects.addresses(text, place('Allow')) : [parseHostOrNetwork(text)];
        return parsedList.map((parsed) => {
          if (!parsed || parsed.family !== family) {
            throw new GatehouseError(`Allow item '${item}' is not ${family === 'ipv4' ? 'IPv4' : 'IPv6'} like DstHost`, { place: place('Allow'), hint: 'list addresses, networks or host objects of the DstHost family, optionally prefixed by ! to exclude' });
          }
          return { negated, text: shorewallText(parsed) };
        });
      });
      // Shorewall's forms: `a,b` the sources, `!c,d` everyone but those, `a,b!c,d` the first except the second.
      const included = listed.filter((l) => !l.negated).map((l) => l.text);
      const excluded = listed.filter((l) => l.negated).map((l) => l.text);
      allow = ':' + included.join(',') + (excluded.length > 0 ? '!' + excluded.join(',') : '');
    }
    const oriDstText = propOf(portforward, key, 'OriDst');
    let origdest = redAddresses[family].join(',');
    if (oriDstText !== undefined) {
      const parsed = parseHostOrNetwork(oriDstText);
      if (!parsed || parsed.kind !== 'host' || parsed.family !== family) {
        throw new GatehouseError(`OriDst '${oriDstText}' is not an address of the DstHost family`, { place: place('OriDst'), hint: 'give the one public address the forward listens on, or leave it empty for every red interface' });
      }
      origdest = family === 'ipv6' ? `[${plainText(parsed)}]` : plainText(parsed);
    }
    const zone = zoneOfAddress(view, target.ip);
    const dest = `${zone}:${shorewallText(target)}${targetPort ? `:${targetPort}` : ''}`;
    const action = `DNAT${logSuffix(portforward, 'portforward', key)}`;
    const description = propOf(portforward, key, 'Description') ?? '';
    out.dnat[family].push({
      comment: commentText(`PF#${key} ${description}`),
      rows: sources.map((s) => row(action, `${s}${allow}`, dest, proto, srcPorts, '', origdest)),
    });

    if (settings.hairpinNat && family === 'ipv4') {
      const dstIface = interfaceHolding(view, target);
      if (!dstIface) return;
      const internalPort = hasPorts ? targetPort || srcPorts : '';
      const rows: Row[] = [];
      for (const lan of view.interfaces) {
        if (!['green', 'blue', 'orange'].includes(lan.role)) continue;
        for (const a of lan.ipv4) rows.push(row(`SNAT(${a.address})`, a.network, `${dstIface.name}:${plainText(target)}`, proto, internalPort));
      }
      if (rows.length > 0) out.hairpin.push({ comment: commentText(`PF#${key} ${description} from lan`), rows });
    }
  }
}

/** One-to-one source NAT: red aliases with FwObjectNat. */
export function buildOneToOneNat(networks: Database, view: NetworkView, objects: ObjectResolver, warn: (w: ModelWarning) => void = () => {}): CommentedRows[] {
  const out: CommentedRows[] = [];
  for (const key of Object.keys(networks).sort()) {
    if (networks[key]?.type !== 'alias') continue;
    try {
      oneToOne(key);
    } catch (e) {
      // Without it the hosts still go out, masqueraded behind the red address: nothing opens.
      skipOrFail(e, true, 'one-to-one NAT', warn);
    }
  }
  return out;

  function oneToOne(key: string): void {
    const refs = (propOf(networks, key, 'FwObjectNat') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (refs.length === 0) return;
    const place: Place = { db: 'networks', key, prop: 'FwObjectNat' };
    const parentName = key.split(':')[0] ?? '';
    const parent = view.byName.get(parentName);
    if (!parent || parent.role !== 'red') {
      throw new GatehouseError(`FwObjectNat is set on an alias of '${parentName}', which is not a red interface`, { place, hint: 'one-to-one NAT needs a public address: use an alias of a red interface' });
    }
    const aliasAddress = propOf(networks, key, 'ipaddr');
    const parsedAlias = aliasAddress === undefined ? undefined : parseHostOrNetwork(aliasAddress);
    if (!parsedAlias || parsedAlias.kind !== 'host' || parsedAlias.family !== 'ipv4') {
      throw new GatehouseError('alias has FwObjectNat but no IPv4 ipaddr', { place: { db: 'networks', key, prop: 'ipaddr' }, hint: 'set the public IPv4 address of the alias' });
    }
    const addresses: string[] = [];
    for (const ref of refs) {
      for (const a of objects.addresses(ref, place)) {
        if (a.family !== 'ipv4') {
          throw new GatehouseError(`'${ref}' holds the IPv6 address ${plainText(a)}; one-to-one NAT is IPv4 only`, { place, hint: 'reference IPv4 objects only' });
        }
        const text = plainText(a);
        if (!addresses.includes(text)) addresses.push(text);
      }
    }
    out.push({ comment: commentText(`SNAT ${key}`), rows: [row(`SNAT(${aliasAddress})`, addresses.join(','), parentName)] });
  }
}
