/**
 * The stopped state: what the gateway lets through while the firewall is stopped or a
 * new ruleset failed. Loopback, replies to existing connections, DHCP on dhcp
 * interfaces, IPv6 neighbour discovery and the stoppedrules accepts; everything else
 * coming in or passing through is dropped. The firewall's own outgoing traffic is
 * allowed (Shorewall's ADMINISABSENTMINDED=Yes), so an administrator's session from
 * an address the stoppedrules admit keeps working.
 */
import type { StoppedEnd } from '../shorewall/index.js';
import { addressAlternatives, forFamily } from './addresses.js';
import { product, protocolAlternatives, type FamilyContext } from './context.js';
import { TableBuilder, type Match, type Ruleset } from './ir.js';

function endMatches(end: StoppedEnd, direction: 'src' | 'dst', ctx: FamilyContext): Match[][] | undefined {
  const addresses = forFamily(end.addresses, ctx.family, ctx.config.family);
  if (addresses === 'none') return undefined;
  const iface: Match[] =
    end.interface === undefined ? [] : [{ kind: direction === 'src' ? 'inInterface' : 'outInterface', name: end.interface }];
  return addressAlternatives(addresses, direction, ctx.family, ctx.sets).map((alt) => [...iface, ...alt]);
}

export function buildStopped(ctx: FamilyContext): Ruleset {
  const { config, family } = ctx;
  const raw = new TableBuilder('raw');
  const mangle = new TableBuilder('mangle');
  const nat = new TableBuilder('nat');
  const filter = new TableBuilder('filter', { INPUT: 'DROP', FORWARD: 'DROP', OUTPUT: 'ACCEPT' });

  filter.add('INPUT', [{ kind: 'inInterface', name: 'lo' }], { kind: 'ACCEPT' });
  for (const chain of ['INPUT', 'FORWARD']) filter.add(chain, [{ kind: 'conntrackState', states: ['ESTABLISHED', 'RELATED'] }], { kind: 'ACCEPT' });
  if (family === 6) {
    for (const type of ['router-advertisement', 'neighbour-solicitation', 'neighbour-advertisement', 'packet-too-big']) {
      filter.add('INPUT', [{ kind: 'protocol', name: 'ipv6-icmp' }, { kind: 'icmpType', family, type }], { kind: 'ACCEPT' });
    }
  }
  for (const iface of config.interfaces) {
    if (!iface.options.dhcp) continue;
    filter.add('INPUT', [{ kind: 'inInterface', name: iface.physical }, { kind: 'protocol', name: 'udp' }, { kind: 'destinationPorts', ports: [family === 4 ? '67:68' : '546:547'] }], {
      kind: 'ACCEPT',
    });
  }

  for (const rule of config.stoppedRules) {
    if (rule.proto === 'icmp' && family === 6) continue;
    if (rule.proto === 'ipv6-icmp' && family === 4) continue;
    const source = rule.source.firewall ? [[]] : endMatches(rule.source, 'src', ctx);
    const dest = rule.dest.firewall ? [[]] : endMatches(rule.dest, 'dst', ctx);
    if (!source || !dest) continue;
    const protocols = protocolAlternatives(family, rule.proto, rule.dports, rule.sports);
    const alternatives = product([source, dest, protocols]);
    if (rule.target === 'ACCEPT') {
      // A DEST of $FW means INPUT; a SOURCE of $FW means OUTPUT; otherwise both INPUT and FORWARD.
      const chains = rule.dest.firewall ? ['INPUT'] : rule.source.firewall ? ['OUTPUT'] : ['INPUT', 'FORWARD'];
      for (const chain of chains) {
        for (const alt of alternatives) {
          const usable = chain === 'INPUT' ? alt.filter((m) => m.kind !== 'outInterface') : alt;
          filter.add(chain, usable, { kind: 'ACCEPT' });
        }
      }
    } else {
      const chain = rule.source.firewall ? 'OUTPUT' : 'PREROUTING';
      for (const alt of alternatives) {
        raw.add(chain, alt.filter((m) => m.kind !== 'outInterface'), rule.target === 'DROP' ? { kind: 'DROP' } : { kind: 'NOTRACK' });
      }
    }
  }
  // Gatehouse owns its chains, not the built-in ones: other tools' rules (Docker's accepts for
  // containers and published ports) follow its hook and would come before the DROP policy.
  // The stopped state decides everything itself.
  for (const chain of ['INPUT', 'FORWARD']) filter.add(chain, [], { kind: 'DROP' });
  return { family, tables: [raw.build(), mangle.build(), nat.build(), filter.build()] };
}
