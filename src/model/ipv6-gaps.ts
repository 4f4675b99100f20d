/**
 * Restricting rules that miss a host's IPv6 side. A host known only by its IPv4 address
 * sends IPv6 too; a DROP or REJECT naming it holds for IPv4 only. Warned where it matters:
 * the host's zone carries IPv6 and the generated IPv6 ruleset would accept that traffic
 * (its policy between the zones, or an ACCEPT rule), never where the policy refuses it anyway.
 */
import type { FamilyFiles, ModelWarning, Row } from './types.js';

/** One host a DROP/REJECT rule names without an IPv6 side. */
export interface Ipv6GapReport {
  key: string;
  action: string;
  prop: 'Src' | 'Dst';
  host: string;
  hostType: string;
  /** The zone the host's IPv6 traffic is in. */
  zone: string;
  /** Zones of the rule's other side over IPv6 (`all+`: every zone). */
  others: string[];
}

const zoneOfCell = (cell: string | undefined): string => (cell ?? '').split(':', 1)[0] ?? '';
const isAll = (zone: string): boolean => zone === 'all' || zone === 'all+';

/** How the IPv6 ruleset treats new traffic from `src` to `dst` zone: the accepting row, if any. */
function acceptedBy(v6: FamilyFiles, src: string, dst: string): string | undefined {
  const rules: Row[] = [v6.rules.all, v6.rules.rules, v6.rules.services].flatMap((groups) => groups.flatMap((g) => g.rows));
  for (const r of rules) {
    const [action, from, to] = r.cells;
    if (!(action ?? '').startsWith('ACCEPT')) continue;
    const f = zoneOfCell(from);
    const t = zoneOfCell(to);
    if ((isAll(f) || f === src) && (isAll(t) || t === dst)) return `an ACCEPT rule (${r.line.replace(/\t+/g, ' ')})`;
  }
  const policy = v6.policy.find((r) => (r.cells[0] === src || (r.cells[0] === 'all' && src !== dst)) && (r.cells[1] === dst || (r.cells[1] === 'all' && src !== dst)));
  if (policy) return policy.cells[2] === 'ACCEPT' ? `the policy ${src} to ${dst} ACCEPT` : undefined;
  // Shorewall accepts traffic inside a zone unless a policy names the zone twice.
  return src === dst ? `the zone's own traffic (${src} to ${src} is accepted)` : undefined;
}

export function ipv6GapWarnings(reports: Ipv6GapReport[], v6: FamilyFiles): ModelWarning[] {
  if (reports.length === 0) return [];
  const zones = v6.zones.map((r) => (r.cells[0] === 'fw' ? '$FW' : (r.cells[0] ?? '')));
  const expand = (zone: string): string[] => (isAll(zone) ? zones : [zone]);
  const out: ModelWarning[] = [];
  const seen = new Set<string>();
  for (const g of reports) {
    const id = `${g.key} ${g.prop} ${g.host}`;
    if (seen.has(id)) continue;
    let found: { pair: string; by: string } | undefined;
    for (const other of g.others.flatMap(expand)) {
      const [src, dst] = g.prop === 'Src' ? [g.zone, other] : [other, g.zone];
      const by = acceptedBy(v6, src, dst);
      if (by) {
        found = { pair: `${src} to ${dst}`, by };
        break;
      }
    }
    if (!found) continue;
    seen.add(id);
    const how = g.prop === 'Src' && g.hostType === 'local' ? 'a valid MacAddress or an Ip6Address' : g.prop === 'Src' ? 'an Ip6Address (or make it a DHCP reservation, type local, with its MacAddress)' : 'an Ip6Address';
    out.push({
      place: { db: 'fwrules', key: g.key, prop: g.prop },
      message:
        `${g.action} holds for host '${g.host}' over IPv4 only: it has no IPv6 address, and its IPv6 traffic (${found.pair}) is accepted by ${found.by}; ` +
        `give hosts/${g.host} ${how}`,
    });
  }
  return out;
}
