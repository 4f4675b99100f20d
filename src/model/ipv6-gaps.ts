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
  /** The rule's protocols and ports (`''`: any). */
  ports: { proto: string; dport: string }[];
}

/** Port lists (`80,443`, `5000:5100`) share a port; empty or `-` is every port. */
function portsMeet(a: string, b: string): boolean {
  if (a === '' || a === '-' || b === '' || b === '-') return true;
  const ranges = (text: string): [number, number][] =>
    text.split(',').map((p) => {
      const [lo, hi] = p.split(/[:-]/).map(Number) as [number, number | undefined];
      return [lo, hi ?? lo];
    });
  const rb = ranges(b);
  // A non-numeric item (an ICMP type name) is compared as text.
  if (!/^[\d,:-]+$/.test(a) || !/^[\d,:-]+$/.test(b)) return a === b;
  return ranges(a).some(([lo, hi]) => rb.some(([l, h]) => lo <= h && l <= hi));
}

/** A row's protocol and ports meet one of the rule's. */
function serviceMeets(proto: string | undefined, dport: string | undefined, ports: { proto: string; dport: string }[]): boolean {
  const p = proto === undefined || proto === '-' ? '' : proto;
  return ports.some((q) => q.proto === '' || p === '' || (q.proto === p && portsMeet(q.dport, dport ?? '')));
}

const zoneOfCell = (cell: string | undefined): string => (cell ?? '').split(':', 1)[0] ?? '';
const isAll = (zone: string): boolean => zone === 'all' || zone === 'all+';

/** What accepts new IPv6 traffic from `src` to `dst` zone, if anything: an ACCEPT rule, the policy, or the zone itself. */
function acceptance(v6: FamilyFiles): (src: string, dst: string, ports: { proto: string; dport: string }[]) => string | undefined {
  // The ACCEPT rules by zone pair, each distinct service once (rules are many, zone pairs few).
  const pairs = new Map<string, { from: string; to: string; rows: Map<string, { proto?: string; dport?: string; line: string }> }>();
  for (const groups of [v6.rules.all, v6.rules.rules, v6.rules.services]) {
    for (const g of groups) {
      for (const r of g.rows) {
        const [action, from, to, proto, dport] = r.cells;
        if (!(action ?? '').startsWith('ACCEPT')) continue;
        const f = zoneOfCell(from);
        const t = zoneOfCell(to);
        let pair = pairs.get(`${f} ${t}`);
        if (!pair) pairs.set(`${f} ${t}`, (pair = { from: f, to: t, rows: new Map() }));
        const service = `${proto ?? ''} ${dport ?? ''}`;
        if (!pair.rows.has(service)) pair.rows.set(service, { ...(proto !== undefined ? { proto } : {}), ...(dport !== undefined ? { dport } : {}), line: r.line });
      }
    }
  }
  const memo = new Map<string, string | undefined>();
  return (src, dst, ports) => {
    const id = `${src} ${dst} ${ports.map((p) => `${p.proto}/${p.dport}`).join(' ')}`;
    if (memo.has(id)) return memo.get(id);
    let by: string | undefined;
    for (const p of pairs.values()) {
      if (!((isAll(p.from) || p.from === src) && (isAll(p.to) || p.to === dst))) continue;
      for (const r of p.rows.values()) {
        if (serviceMeets(r.proto, r.dport, ports)) {
          by = `an ACCEPT rule (${r.line.replace(/\t+/g, ' ')})`;
          break;
        }
      }
      if (by !== undefined) break;
    }
    if (by === undefined) {
      const policy = v6.policy.find((r) => (r.cells[0] === src || (r.cells[0] === 'all' && src !== dst)) && (r.cells[1] === dst || (r.cells[1] === 'all' && src !== dst)));
      if (policy) by = policy.cells[2] === 'ACCEPT' ? `the policy ${src} to ${dst} ACCEPT` : undefined;
      // Shorewall accepts traffic inside a zone unless a policy names the zone twice.
      else if (src === dst) by = `the zone's own traffic (${src} to ${src} is accepted)`;
    }
    memo.set(id, by);
    return by;
  };
}

/** One warning per rule and side: the hosts (a group's members) whose IPv6 traffic the rule misses where it is accepted. */
export function ipv6GapWarnings(reports: Ipv6GapReport[], v6: FamilyFiles): ModelWarning[] {
  if (reports.length === 0) return [];
  const acceptedBy = acceptance(v6);
  const zones = v6.zones.map((r) => (r.cells[0] === 'fw' ? '$FW' : (r.cells[0] ?? '')));
  const expand = (zone: string): string[] => (isAll(zone) ? zones : [zone]);
  const byRule = new Map<string, { first: Ipv6GapReport; hosts: Map<string, Ipv6GapReport>; found?: { pair: string; by: string } }>();
  for (const g of reports) {
    const id = `${g.key} ${g.prop}`;
    let rule = byRule.get(id);
    if (!rule) byRule.set(id, (rule = { first: g, hosts: new Map() }));
    if (rule.hosts.has(g.host)) continue;
    for (const other of g.others.flatMap(expand)) {
      const [src, dst] = g.prop === 'Src' ? [g.zone, other] : [other, g.zone];
      const by = acceptedBy(src, dst, g.ports);
      if (by) {
        rule.hosts.set(g.host, g);
        rule.found ??= { pair: `${src} to ${dst}`, by };
        break;
      }
    }
  }
  const out: ModelWarning[] = [];
  for (const { first, hosts, found } of byRule.values()) {
    if (!found) continue;
    const list = [...hosts.values()];
    const names = list.map((h) => `'${h.host}'`).join(', ');
    const records = list.map((h) => `hosts/${h.host}`).join(', ');
    const local = list.every((h) => h.hostType === 'local');
    const how = first.prop === 'Src' && local ? 'a valid MacAddress or an Ip6Address' : first.prop === 'Src' ? 'an Ip6Address (or make it a DHCP reservation, type local, with its MacAddress)' : 'an Ip6Address';
    const one = list.length === 1;
    out.push({
      place: { db: 'fwrules', key: first.key, prop: first.prop },
      message:
        `${first.action} holds for ${one ? 'host' : 'hosts'} ${names} over IPv4 only: ${one ? 'it has' : 'they have'} no IPv6 address, and ${one ? 'its' : 'their'} IPv6 traffic (${found.pair}) is accepted by ${found.by}; ` +
        `give ${one ? records : `each of ${records}`} ${how}`,
    });
  }
  return out;
}
