/**
 * The blocklist's place in the ruleset (pure). The REST API (src/api) keeps its entries in
 * kernel ipsets that change at run time; the compiled ruleset only matches them, with a
 * fixed handful of rules, so a firewall-adjust never loses an entry and a packet meets
 * one hash lookup per set however many entries there are.
 *
 * Where: one chain per built-in chain, `blocklist@input`, `blocklist@forward` and
 * `blocklist@output`, jumped to first in INPUT and OUTPUT (right after the loopback
 * accept) and first in FORWARD: before the ESTABLISHED,RELATED accept, so a block also
 * cuts connections already open, and before every zone rule and policy. In each chain
 * the drop sets come before the accept sets: an address both dropped and accepted is
 * dropped. An address no set holds returns to the zone rules unchanged.
 *
 * rfw's two-address forward form (`/drop/forward/<in>/<source>/<out>/<destination>`)
 * matches a pair of networks and two interfaces. This kernel has no hash:net,net, and the
 * set types it has are not the same thing: hash:ip,ip holds hosts only (no prefixes, no
 * interfaces), hash:net,port,net needs a protocol and port in every element, so one pair
 * would take an element per protocol. Pairs are therefore rules, one per pair, in two
 * run-time chains the API fills (`runtime-blocklist-drop`, `runtime-blocklist-accept`;
 * the plan declares them and never flushes them, see src/plan/parts/owned.ts). Their
 * order in `blocklist@forward`: the drop sets, the drop pairs, the accept sets, the
 * accept pairs; a packet meets one rule per pair, so pairs suit a handful of exceptions,
 * not fleet-sized lists (those are the sets).
 *
 * Sets, per family (4, 6), action (drop, accept) and chain: `ghbl-drop-input-4`
 * (hash:net: any interface) and `ghbl-drop-input-if-4` (hash:net,iface: one interface,
 * or a name prefix with the wildcard flag). Input and forward match the source address
 * (and the incoming interface), output the destination (and the outgoing interface).
 */
import type { Family } from '../shorewall/index.js';
import type { Chain, IrRule, Table, Target } from './ir.js';

export type BlocklistAction = 'drop' | 'accept';
export type BlocklistChain = 'input' | 'output' | 'forward';

const ACTIONS: readonly BlocklistAction[] = ['drop', 'accept'];
const CHAINS: readonly BlocklistChain[] = ['input', 'forward', 'output'];
const BUILTIN: Record<BlocklistChain, string> = { input: 'INPUT', forward: 'FORWARD', output: 'OUTPUT' };

/** Room for a large fleet list; the kernel grows the hash as entries come (no memory up front). */
export const BLOCKLIST_MAXELEM = 1_048_576;

export function blocklistChainName(chain: BlocklistChain): string {
  return `blocklist@${chain}`;
}

/** The run-time chain holding the forward pair rules of an action (filled by the API). */
export function blocklistPairChainName(action: BlocklistAction): string {
  return `runtime-blocklist-${action}`;
}

export function blocklistSetName(action: BlocklistAction, chain: BlocklistChain, byInterface: boolean, family: Family): string {
  return `ghbl-${action}-${chain}${byInterface ? '-if' : ''}-${family}`;
}

export interface BlocklistSet {
  name: string;
  family: Family;
  type: 'hash:net' | 'hash:net,iface';
  maxelem: number;
  /** Entries carry their own timeout; 0: none unless given. */
  timeout: 0;
  /** Every element counts its packets and bytes (GET /list shows them, as rfw shows its rules' counters). */
  counters: true;
  /** The rest of the `create` line after the name, as the plan's run-time sets write it. */
  spec: string;
}

/** Every set the blocklist rules match, both families: created empty when missing, never emptied by an apply. */
export function blocklistSets(): BlocklistSet[] {
  const out: BlocklistSet[] = [];
  for (const family of [4, 6] as const) {
    for (const action of ACTIONS) {
      for (const chain of CHAINS) {
        for (const byInterface of [false, true]) {
          const type = byInterface ? 'hash:net,iface' : 'hash:net';
          out.push({
            name: blocklistSetName(action, chain, byInterface, family),
            family,
            type,
            maxelem: BLOCKLIST_MAXELEM,
            timeout: 0,
            counters: true,
            spec: `${type} family ${family === 4 ? 'inet' : 'inet6'} maxelem ${BLOCKLIST_MAXELEM} timeout 0 counters`,
          });
        }
      }
    }
  }
  return out;
}

/** The rules of one blocklist chain: drop sets first, then accept sets. */
function chainRules(chain: BlocklistChain, family: Family): IrRule[] {
  const direction = chain === 'output' ? 'dst' : 'src';
  const rules: IrRule[] = [];
  for (const action of ACTIONS) {
    const target: Target = { kind: action === 'drop' ? 'DROP' : 'ACCEPT' };
    rules.push({ matches: [{ kind: 'set', name: blocklistSetName(action, chain, false, family), direction }], target });
    // hash:net,iface: the second flag picks the incoming (src) or outgoing (dst) interface.
    rules.push({ matches: [{ kind: 'set', name: blocklistSetName(action, chain, true, family), direction: direction === 'src' ? 'src,src' : 'dst,dst' }], target });
    if (chain === 'forward') rules.push({ matches: [], target: { kind: 'jump', chain: blocklistPairChainName(action) } });
  }
  return rules;
}

/** Index after the leading loopback accept(s) of a built-in chain. */
function afterLoopback(chain: Chain): number {
  let i = 0;
  while (i < chain.rules.length && chain.rules[i]!.matches.length === 1 && ['inInterface', 'outInterface'].includes(chain.rules[i]!.matches[0]!.kind)) {
    const m = chain.rules[i]!.matches[0] as { name: string };
    if (m.name !== 'lo') break;
    i++;
  }
  return i;
}

/**
 * The filter table with the blocklist chains added and jumped to (see the file comment
 * for where). Returns a new table; the one given is not changed.
 */
export function withBlocklist(filter: Table, family: Family): Table {
  const chains = filter.chains.map((c) => {
    const chain = (Object.keys(BUILTIN) as BlocklistChain[]).find((k) => BUILTIN[k] === c.name);
    if (!chain) return c;
    const rules = [...c.rules];
    rules.splice(chain === 'forward' ? 0 : afterLoopback(c), 0, { matches: [], target: { kind: 'jump', chain: blocklistChainName(chain) } });
    return { ...c, rules };
  });
  const own: Chain[] = [
    ...CHAINS.map((chain) => ({ name: blocklistChainName(chain), rules: chainRules(chain, family) })),
    ...ACTIONS.map((action) => ({ name: blocklistPairChainName(action), rules: [] })),
  ];
  return { name: filter.name, chains: [...chains, ...own] };
}
