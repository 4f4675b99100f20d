/**
 * Address lists as matches: keeping the items of one family, turning a list into one
 * alternative per item (or a single ipset when the list is long), and naming ipsets by
 * their content so the same list always gets the same set.
 */
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { AddressItem, AddressList, Family } from '../shorewall/index.js';
import type { IpsetDefinition } from '../plan/index.js';
import type { Match } from './ir.js';

/** Lists with more network/range items than this become an ipset. */
export const IPSET_THRESHOLD = 4;

/**
 * The list as seen by one family: items of the other family are removed. Returns
 * 'none' when a plain list held only other-family items (the rule does not exist in
 * this family); a negated list that loses every item matches everything (undefined).
 */
export function forFamily(list: AddressList | undefined, family: Family, configFamily: Family): AddressList | undefined | 'none' {
  if (!list) return undefined;
  // One item, the usual case (and the IPv6 pass over IPv4 files meets one of the other family
  // per rule): decided without a closure made per rule and family.
  if (list.items.length === 1 && !list.except) return keeps(list.items[0]!, family, configFamily) ? list : list.negate ? undefined : 'none';
  const keep = (item: AddressItem): boolean => keeps(item, family, configFamily);
  // Most lists are wholly of one family: reuse them, or drop them, rather than copy them per rule and family.
  let kept = 0;
  for (const item of list.items) if (keep(item)) kept++;
  if (kept === 0) return list.negate ? undefined : 'none';
  if (list.except) {
    const except = list.except.filter(keep);
    if (except.length !== list.except.length || kept !== list.items.length) {
      const items = kept === list.items.length ? list.items : list.items.filter(keep);
      return except.length > 0 ? { items, negate: false, except } : { items, negate: false };
    }
    return list;
  }
  if (kept === list.items.length) return list;
  return { items: list.items.filter(keep), negate: list.negate };
}

/** Whether `item` exists in `family` (a named external set has the family of the configuration that names it). */
function keeps(item: AddressItem, family: Family, configFamily: Family): boolean {
  if (item.kind === 'net' || item.kind === 'range') return item.family === family;
  if (item.kind === 'ipset') return family === configFamily;
  return true;
}

function itemText(item: AddressItem): string {
  switch (item.kind) {
    case 'net':
      return item.address;
    case 'range':
      return `${item.from}-${item.to}`;
    case 'mac':
      return `~${item.mac}`;
    case 'ipset':
      return `+${item.name}`;
    case 'interfaceAddress':
      return `&${item.interface}`;
  }
}

/** Collects the sets a compile needs; the same content always gives the same name. */
export class IpsetRegistry {
  private readonly sets = new Map<string, IpsetDefinition>();

  setFor(family: Family, entries: string[]): string {
    const sorted = [...new Set(entries)].sort();
    const digest = createHash('sha256').update(`${family}\n${sorted.join('\n')}`).digest('hex').slice(0, 10);
    const name = `gh${family}-${digest}`;
    if (!this.sets.has(name)) {
      const maxelem = Math.max(65536, 2 ** Math.ceil(Math.log2(sorted.length * 2)));
      this.sets.set(name, { name, spec: `hash:net family ${family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem ${maxelem}`, entries: sorted });
    }
    return name;
  }

  definitions(): IpsetDefinition[] {
    return [...this.sets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

function itemMatch(item: AddressItem, direction: 'src' | 'dst', negate: boolean): Match {
  switch (item.kind) {
    case 'net':
      return { kind: direction === 'src' ? 'source' : 'destination', address: item.address, negate };
    case 'range':
      return { kind: direction === 'src' ? 'sourceRange' : 'destinationRange', from: item.from, to: item.to, negate };
    case 'mac':
      return { kind: 'mac', mac: item.mac, negate };
    case 'ipset':
      return { kind: 'set', name: item.name, direction, negate };
    case 'interfaceAddress':
      throw new Error(`&${item.interface} must be resolved before matching`);
  }
}

/**
 * The alternatives a list stands for: each is a list of matches, and a packet matches
 * the list when it matches any alternative. A negated list is one alternative of
 * negated matches (all must hold), its networks in one set. Long network lists collapse
 * into one ipset.
 */
export function addressAlternatives(
  list: AddressList | undefined,
  direction: 'src' | 'dst',
  family: Family,
  sets: IpsetRegistry,
): Match[][] {
  if (!list) return [[]];
  const alternatives = includedAlternatives(list, direction, family, sets);
  if (!list.except) return alternatives;
  const excluded = exclusionMatches(list.except, direction, family, sets);
  return alternatives.map((alt) => [...alt, ...excluded]);
}

function includedAlternatives(list: AddressList, direction: 'src' | 'dst', family: Family, sets: IpsetRegistry): Match[][] {
  // One item is the usual case; it never needs a set.
  if (list.items.length === 1) return [[itemMatch(list.items[0]!, direction, list.negate)]];
  const networks = list.items.filter((i) => i.kind === 'net' || i.kind === 'range');
  const others = list.items.filter((i) => i.kind !== 'net' && i.kind !== 'range');
  let netMatches: Match[];
  // A negated list must be one alternative, and iptables takes one -s (or -d) per rule:
  // two or more negated networks can only be a set.
  if (networks.length > IPSET_THRESHOLD || (list.negate && networks.length > 1)) {
    netMatches = [{ kind: 'set', name: sets.setFor(family, networks.map(itemText)), direction, negate: list.negate }];
  } else {
    netMatches = networks.map((i) => itemMatch(i, direction, list.negate));
  }
  const all = [...netMatches, ...others.map((i) => itemMatch(i, direction, list.negate))];
  return list.negate ? [all] : all.map((m) => [m]);
}

/** The first and last address of a network, for an iprange match. */
function networkRange(item: AddressItem & { kind: 'net' }): { from: string; to: string } {
  if (!item.address.includes('/')) return { from: item.address, to: item.address };
  const kind = item.family === 4 ? ipaddr.IPv4 : ipaddr.IPv6;
  return { from: kind.networkAddressFromCIDR(item.address).toString(), to: kind.broadcastAddressFromCIDR(item.address).toString() };
}

/**
 * `a!b,c`: matches that every alternative of `a` carries, so a packet from b or c
 * matches none of them and goes on to the next rule, as Shorewall's exclusion chains
 * (a RETURN for each excluded address) do. The alternative already holds this
 * direction's -s or -d, so one excluded network becomes a negated iprange match and
 * several a negated set.
 */
function exclusionMatches(except: AddressItem[], direction: 'src' | 'dst', family: Family, sets: IpsetRegistry): Match[] {
  const networks = except.filter((i) => i.kind === 'net' || i.kind === 'range');
  const out: Match[] = [];
  if (networks.length === 1) {
    const item = networks[0]!;
    const range = item.kind === 'net' ? networkRange(item) : { from: item.from, to: item.to };
    out.push({ kind: direction === 'src' ? 'sourceRange' : 'destinationRange', ...range, negate: true });
  } else if (networks.length > 1) {
    out.push({ kind: 'set', name: sets.setFor(family, networks.map(itemText)), direction, negate: true });
  }
  for (const item of except) if (item.kind === 'ipset') out.push(itemMatch(item, direction, true));
  return out;
}

export { itemText };

/**
 * addressAlternatives for one family's compile, remembered for the last list of each
 * direction: the parser shares a list between consecutive rules that name the same
 * addresses (see rules.ts), so those rules share their matches too.
 */
export class AddressMatches {
  private readonly last = {
    src: { list: undefined as AddressList | undefined, alternatives: [] as Match[][] },
    dst: { list: undefined as AddressList | undefined, alternatives: [] as Match[][] },
  };

  constructor(
    private readonly family: Family,
    private readonly sets: IpsetRegistry,
  ) {}

  of(list: AddressList | undefined, direction: 'src' | 'dst'): Match[][] {
    if (!list) return addressAlternatives(list, direction, this.family, this.sets);
    const last = this.last[direction];
    if (last.list !== list) {
      last.alternatives = addressAlternatives(list, direction, this.family, this.sets);
      last.list = list;
    }
    return last.alternatives;
  }
}
