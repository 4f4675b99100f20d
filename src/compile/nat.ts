/**
 * The nat table (DNAT, REDIRECT, one-to-one NAT, SNAT and MASQUERADE) and the MAC
 * validation chains (in mangle or filter, as MACLIST_TABLE says).
 */
import type { Family, Rule } from '../shorewall/index.js';
import { addressAlternatives, forFamily } from './addresses.js';
import { originOf } from './origins.js';
import { addWithLog, dispositionOf, extraMatches, placeError, product, protocolAlternatives, ruleInFamily, type FamilyContext, type FamilyRule } from './context.js';
import { REJECT_CHAIN } from './filter.js';
import { TableBuilder, type Match, type Table } from './ir.js';
import { rulePairs } from './zones.js';

export interface NatCounts {
  dnat: number;
  redirect: number;
  snat: number;
  masquerade: number;
  oneToOne: number;
}

const dnatChain = (zone: string) => `dnat@${zone}`;
const NAT_ACTIONS = new Set(['DNAT', 'DNAT-', 'REDIRECT', 'REDIRECT-', 'ACCEPT+']);

function bracket(address: string, family: Family, port: string | undefined): string {
  if (port === undefined) return address;
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * ORIGDEST as matches in nat PREROUTING for a packet that came in on `inIface`.
 *
 * `&eth1` is eth1's address. When the caller supplies it we match it exactly. When it is
 * unknown (DHCP, PPP) we use the address type: a packet that arrives on eth1 itself must
 * be addressed to one of eth1's addresses (`--dst-type LOCAL --limit-iface-in`); a
 * packet arriving on any other interface (hairpin from the LAN) must be addressed to the
 * firewall but not to an address of the interface it came in on, so LAN clients still
 * reach the firewall's own LAN address on the same port. That is exact with one uplink;
 * with several, a hairpin packet to any uplink's address matches, which is what
 * `&eth1,&eth2` lists ask for anyway.
 */
/**
 * The interface's addresses of this family the compile was given; none when it was given
 * none (dry-run) or the interface has none yet (red waiting for DHCP or PPPoE). Then the
 * nat rule matches the interface's own address when the packet arrives (addrtype), so a
 * forward works as soon as the lease comes, without waiting for the next event.
 */
function ownAddresses(ctx: FamilyContext, iface: string): string[] {
  const known = ctx.options.interfaceAddresses?.[iface];
  return known ? (ctx.family === 4 ? known.v4 : known.v6) : [];
}

function origdestForNat(fr: FamilyRule, ctx: FamilyContext, inIface: string | undefined): Match[][] {
  const list = fr.origdest;
  if (!list) return [[]];
  const out: Match[][] = [];
  const nets = list.items.filter((i) => i.kind === 'net');
  // One -d per rule: several negated networks become one set.
  const asSet = list.negate && nets.length > 1;
  if (asSet) out.push([{ kind: 'set', name: ctx.sets.setFor(ctx.family, nets.map((i) => i.address)), direction: 'dst', negate: true }]);
  for (const item of list.items) {
    if (item.kind === 'net') {
      if (!asSet) out.push([{ kind: 'destination', address: item.address, negate: list.negate }]);
    } else if (item.kind === 'interfaceAddress') {
      const own = ownAddresses(ctx, item.interface);
      const iface = ctx.config.interfaces.find((i) => i.name === item.interface)?.physical ?? item.interface;
      if (own.length > 0) {
        for (const a of own) out.push([{ kind: 'destination', address: a }]);
      } else if (inIface === iface) {
        out.push([{ kind: 'destinationLocal', onIncomingInterface: true }]);
      } else if (inIface === undefined) {
        out.push([{ kind: 'destinationLocal' }]);
      } else {
        out.push([{ kind: 'destinationLocal' }, { kind: 'destinationLocal', negate: true, onIncomingInterface: true }]);
      }
    }
  }
  if (list.negate && out.length > 1) return [out.flat()];
  return out;
}

function natTargetOf(rule: Rule, family: Family) {
  if (rule.action === 'ACCEPT+') return { kind: 'RETURN' as const };
  if (rule.action === 'REDIRECT' || rule.action === 'REDIRECT-') return { kind: 'REDIRECT' as const, ports: rule.natTarget!.port! };
  const a = rule.natTarget!.address!;
  const address = a.kind === 'net' ? a.address : `${a.from}-${a.to}`;
  return { kind: 'DNAT' as const, to: bracket(address, family, rule.natTarget!.port) };
}

export function buildNat(ctx: FamilyContext): { table: Table; counts: NatCounts } {
  const { config, model, family, sets } = ctx;
  const t = new TableBuilder('nat');
  const counts: NatCounts = { dnat: 0, redirect: 0, snat: 0, masquerade: 0, oneToOne: 0 };
  const fw = model.firewall;

  // One-to-one NAT first, as Shorewall does.
  for (const entry of config.nat) {
    if (!(entry.external.includes(':') ? family === 6 : family === 4)) continue;
    const inIf = entry.allInterfaces ? [] : [{ kind: 'inInterface' as const, name: entry.interface }];
    const outIf = entry.allInterfaces ? [] : [{ kind: 'outInterface' as const, name: entry.interface }];
    t.from(originOf(config, entry), () => {
      t.add('PREROUTING', [...inIf, { kind: 'destination', address: entry.external }], { kind: 'DNAT', to: entry.internal });
      t.add('POSTROUTING', [...outIf, { kind: 'source', address: entry.internal }], { kind: 'SNAT', to: entry.external });
      if (entry.local) t.add('OUTPUT', [{ kind: 'destination', address: entry.external }], { kind: 'DNAT', to: entry.internal });
    });
    counts.oneToOne++;
  }

  // DNAT, REDIRECT and ACCEPT+ go to one chain per source zone, in file order.
  const zonesWithNat: string[] = [];
  config.rules.forEach((rule, index) => {
    if (!NAT_ACTIONS.has(rule.action)) return;
    const fr = ruleInFamily(rule, ctx);
    if (!fr) return;
    const destZones = rule.action.startsWith('REDIRECT') ? { kind: 'zones' as const, names: [fw], includeIntra: true } : rule.dest.zones;
    const sourceZones = [...new Set(rulePairs(rule.source.zones, destZones, model).map(([s]) => s))];
    const target = natTargetOf(rule, family);
    const protocols = protocolAlternatives(family, rule.proto, rule.dports, rule.sports);
    const source = addressAlternatives(fr.source, 'src', family, sets);
    const extra = extraMatches(rule, index);
    const disposition = dispositionOf(rule.action);
    for (const zone of sourceZones) {
      const chain = dnatChain(zone);
      if (!zonesWithNat.includes(zone)) {
        zonesWithNat.push(zone);
        // The jump to this chain is added below even when no rule lands in it (a red interface
        // without an address yet gives &red0 no alternative): it must exist, empty or not.
        t.chain(chain);
      }
      // ORIGDEST may depend on the incoming interface, so it is expanded per interface when it has &if.
      const byInterface = fr.origdest?.items.some((i) => i.kind === 'interfaceAddress' && ownAddresses(ctx, i.interface).length === 0);
      const ifaces = zone === fw || !byInterface ? [undefined] : [...new Set(model.memberships.filter((m) => m.zone === zone).map((m) => m.iface))];
      for (const iface of ifaces) {
        const inMatch: Match[][] = [iface === undefined ? [] : [{ kind: 'inInterface', name: iface }]];
        const origdest = origdestForNat(fr, ctx, iface);
        t.from(originOf(config, rule), () => {
          for (const alt of product([inMatch, source, origdest, protocols], extra)) {
            addWithLog(t, config, chain, alt, target, target.kind === 'RETURN' ? undefined : rule.log, { chain: `${zone}-dnat`, disposition });
          }
        });
      }
    }
    if (target.kind === 'DNAT') counts.dnat++;
    if (target.kind === 'REDIRECT') counts.redirect++;
  });
  for (const zone of zonesWithNat) {
    if (zone === fw) {
      t.add('OUTPUT', [], { kind: 'jump', chain: dnatChain(zone) });
      continue;
    }
    for (const m of model.memberships.filter((x) => x.zone === zone)) {
      for (const alt of addressAlternatives(m.addresses, 'src', family, sets)) {
        t.add('PREROUTING', [{ kind: 'inInterface', name: m.iface }, ...alt], { kind: 'jump', chain: dnatChain(zone) });
      }
    }
  }

  for (const entry of config.snat) {
    const source = forFamily(entry.source, family, config.family);
    const dest = forFamily(entry.dest, family, config.family);
    const origdest = forFamily(entry.origdest, family, config.family);
    if (source === 'none' || dest === 'none' || origdest === 'none') continue;
    // IPv6 derived from IPv4 files gets no address translation unless an entry names IPv6 addresses.
    const namesFamily = [source, dest, origdest].some((l) => l?.items.some((i) => (i.kind === 'net' || i.kind === 'range') && i.family === family));
    if (config.family !== family && !namesFamily) continue;
    if (entry.action.kind === 'SNAT' && (entry.action.to.includes(':') ? 6 : 4) !== family) continue;
    if (entry.proto === 'icmp' && family === 6) continue;
    if (entry.proto === 'ipv6-icmp' && family === 4) continue;
    const action = entry.action;
    const target =
      action.kind === 'MASQUERADE'
        ? action.ports === undefined
          ? { kind: 'MASQUERADE' as const }
          : { kind: 'MASQUERADE' as const, ports: action.ports }
        : action.kind === 'SNAT'
          ? { kind: 'SNAT' as const, to: action.ports === undefined ? action.to : bracket(action.to, family, action.ports) }
          : { kind: 'RETURN' as const };
    const od: Match[][] = origdest ? origdest.items.filter((i) => i.kind === 'net').map((i) => [{ kind: 'originalDestination', address: (i as { address: string }).address }]) : [[]];
    const comment: Match[] = entry.comment === undefined ? [] : [{ kind: 'comment', text: entry.comment }];
    for (const alt of product([
      [[{ kind: 'outInterface', name: entry.interface }]],
      addressAlternatives(source, 'src', family, sets),
      addressAlternatives(dest, 'dst', family, sets),
      od,
      protocolAlternatives(family, entry.proto, entry.dports),
    ])) {
      t.from(originOf(config, entry), () => t.add('POSTROUTING', [...alt, ...comment], target));
    }
    if (action.kind === 'MASQUERADE') counts.masquerade++;
    if (action.kind === 'SNAT') counts.snat++;
  }
  return { table: t.build(), counts };
}

/** MAC validation chains `mac@<iface>` and, in mangle, their jumps from PREROUTING. */
export function addMaclist(t: TableBuilder, ctx: FamilyContext): void {
  const { config, model, family } = ctx;
  const inMangle = t.name === 'mangle';
  const ifaces = [...new Set(model.memberships.filter((m) => m.maclist).map((m) => m.iface))];
  for (const iface of ifaces) {
    const chain = `mac@${iface}`;
    t.chain(chain);
    for (const entry of config.maclist) {
      if (entry.interface !== iface) continue;
      const addresses = forFamily(entry.addresses, family, config.family);
      if (addresses === 'none') continue;
      if (entry.disposition === 'REJECT' && inMangle) {
        throw placeError(entry.place, 'REJECT cannot work with MACLIST_TABLE=mangle', 'use DROP, or MACLIST_TABLE=filter');
      }
      const target =
        entry.disposition === 'ACCEPT' ? { kind: 'RETURN' as const } : entry.disposition === 'DROP' ? { kind: 'DROP' as const } : { kind: 'jump' as const, chain: REJECT_CHAIN };
      t.from(originOf(config, entry), () => {
        for (const alt of addressAlternatives(addresses, 'src', family, ctx.sets)) {
          addWithLog(t, config, chain, [{ kind: 'mac', mac: entry.mac }, ...alt], target, entry.log, { chain, disposition: entry.disposition });
        }
      });
    }
    const disposition = config.settings.maclistDisposition;
    if (disposition !== 'ACCEPT') {
      const target = disposition === 'DROP' ? { kind: 'DROP' as const } : { kind: 'jump' as const, chain: REJECT_CHAIN };
      addWithLog(t, config, chain, [], target, config.settings.maclistLogLevel, { chain, disposition });
    }
    if (inMangle) {
      for (const m of model.memberships.filter((x) => x.maclist && x.iface === iface)) {
        for (const alt of addressAlternatives(m.addresses, 'src', family, ctx.sets)) {
          t.add('PREROUTING', [{ kind: 'inInterface', name: iface }, ...alt, { kind: 'conntrackState', states: ['NEW'] }], { kind: 'jump', chain });
        }
      }
    }
  }
}
