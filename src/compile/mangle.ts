/**
 * The mangle file's entries as rules of the mangle table. As in Shorewall, entries land
 * in one chain per hook (tcpre, tcin, tcfor, tcout, tcpost), each jumped to from its
 * built-in chain, so other parts (maclist, provider marks) keep their own rules around
 * them. Entries keep file order: every matching MARK acts and the last one wins.
 */
import type { MangleChainName, MangleEnd, MangleEntry } from '../shorewall/index.js';
import { forFamily } from './addresses.js';
import { type FamilyContext, product, protocolAlternatives } from './context.js';
import { originOf } from './origins.js';
import type { Match, TableBuilder, Target } from './ir.js';

/** Shorewall's names for the chains that hold the mangle file's entries. */
export const MANGLE_CHAINS: Record<MangleChainName, string> = {
  PREROUTING: 'tcpre',
  INPUT: 'tcin',
  FORWARD: 'tcfor',
  OUTPUT: 'tcout',
  POSTROUTING: 'tcpost',
};
const HOOK_ORDER: MangleChainName[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

function targetOf(entry: MangleEntry): Target {
  const c = entry.command;
  switch (c.kind) {
    case 'MARK':
    case 'CONNMARK':
      return c.mask === undefined ? { kind: c.kind, operation: c.operation, value: c.value } : { kind: c.kind, operation: c.operation, value: c.value, mask: c.mask };
    case 'SAVE':
      return { kind: 'SAVEMARK', mask: c.mask };
    case 'RESTORE':
      return { kind: 'RESTOREMARK', mask: c.mask };
    case 'CONTINUE':
      return { kind: 'RETURN' };
    case 'DROP':
      return { kind: 'DROP' };
  }
}

function interfaceMatches(end: MangleEnd, direction: 'in' | 'out'): Match[] {
  if (end.interface === undefined) return [];
  // A trailing '+' is iptables' wildcard too.
  const kind = direction === 'in' ? ('inInterface' as const) : ('outInterface' as const);
  return [end.negateInterface ? { kind, name: end.interface, negate: true } : { kind, name: end.interface }];
}

/** Entries that exist in this family; an entry whose addresses are all of the other family does not. */
function entryMatches(entry: MangleEntry, ctx: FamilyContext): Match[][] | undefined {
  const { family, config } = ctx;
  if (entry.proto === 'icmp' && family === 6) return undefined;
  if (entry.proto === 'ipv6-icmp' && family === 4) return undefined;
  const source = forFamily(entry.source.addresses, family, config.family);
  const dest = forFamily(entry.dest.addresses, family, config.family);
  if (source === 'none' || dest === 'none') return undefined;
  const tail: Match[] = [];
  if (entry.test) tail.push({ kind: 'mark', value: entry.test.value, mask: entry.test.mask, connmark: entry.test.connmark, negate: entry.test.negate });
  if (entry.states) tail.push({ kind: 'conntrackState', states: entry.states });
  if (entry.time) tail.push({ kind: 'time', time: entry.time });
  if (entry.comment !== undefined) tail.push({ kind: 'comment', text: entry.comment });
  return product(
    [
      [[...interfaceMatches(entry.source, 'in'), ...interfaceMatches(entry.dest, 'out')]],
      ctx.addressMatches.of(source, 'src'),
      ctx.addressMatches.of(dest, 'dst'),
      protocolAlternatives(family, entry.proto, entry.dports, entry.sports),
    ],
    tail,
  );
}

/** Adds the mangle file's entries (and the jumps to their chains) to a mangle table under construction. */
export function addMangleEntries(t: TableBuilder, ctx: FamilyContext): void {
  const entries = ctx.config.mangle;
  if (entries.length === 0) return;
  for (const hook of HOOK_ORDER) t.chain(MANGLE_CHAINS[hook]);
  for (const entry of entries) {
    const alternatives = entryMatches(entry, ctx);
    if (!alternatives) continue;
    const target = targetOf(entry);
    t.from(originOf(ctx.config, entry), () => {
      for (const matches of alternatives) t.add(MANGLE_CHAINS[entry.chain], matches, target);
    });
  }
  for (const hook of HOOK_ORDER) t.add(hook, [], { kind: 'jump', chain: MANGLE_CHAINS[hook] });
}
