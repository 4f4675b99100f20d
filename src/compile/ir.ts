/**
 * The compiled representation: tables of chains of rules, each rule a list of matches
 * and one target. Nothing here knows iptables syntax; the emitter turns it into text,
 * and a future backend (nftables) or a `trace` tool can read the same values.
 */
import type { Family, RateLimit, TimeSpec } from '../shorewall/index.js';

export type Match =
  | { kind: 'inInterface'; name: string; negate?: boolean }
  | { kind: 'outInterface'; name: string; negate?: boolean }
  | { kind: 'source' | 'destination'; address: string; negate?: boolean }
  | { kind: 'sourceRange' | 'destinationRange'; from: string; to: string; negate?: boolean }
  | { kind: 'set'; name: string; direction: 'src' | 'dst' | 'src,src' | 'dst,dst'; negate?: boolean }
  | { kind: 'mac'; mac: string; negate?: boolean }
  | { kind: 'protocol'; name: string }
  | { kind: 'destinationPorts' | 'sourcePorts'; ports: string[] }
  | { kind: 'icmpType'; family: Family; type: string }
  | { kind: 'conntrackState'; states: string[] }
  | { kind: 'originalDestination'; address: string; negate?: boolean }
  /** The connection's original destination port (or range a:b), before DNAT or REDIRECT changed it. */
  | { kind: 'originalDestinationPort'; port: string }
  | { kind: 'destinationLocal'; negate?: boolean; onIncomingInterface?: boolean }
  | { kind: 'sourceBroadcast' }
  /** The source would be routed back out of the incoming interface (any interface when loose). */
  | { kind: 'reversePath'; loose: boolean }
  | { kind: 'destinationType'; type: 'BROADCAST' | 'MULTICAST' }
  | { kind: 'tcpFlags'; mask: string; set: string }
  | { kind: 'hopLimit'; equals: number }
  /** `-m tcpmss --mss from:` (the SYN's MSS option is at least `from`). */
  | { kind: 'tcpMss'; from: number }
  | { kind: 'rate'; limit: RateLimit; name: string }
  | { kind: 'time'; time: TimeSpec }
  | { kind: 'comment'; text: string }
  /** `-m mark` (packet mark) or `-m connmark` (connection mark): (mark & mask) == value. */
  | { kind: 'mark'; value: number; mask: number; connmark: boolean; negate?: boolean };

export type Target =
  | { kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { kind: 'REJECT'; with?: string }
  | { kind: 'jump'; chain: string }
  | { kind: 'LOG'; prefix: string; level: string }
  | { kind: 'DNAT'; to: string }
  | { kind: 'SNAT'; to: string }
  | { kind: 'MASQUERADE'; ports?: string }
  | { kind: 'REDIRECT'; ports: string }
  | { kind: 'NOTRACK' }
  /** Rewrites the MSS option of a SYN: to the path MTU, or to a number of bytes. */
  | { kind: 'TCPMSS'; mss: 'pmtu' | number }
  /** To user space (an IPS) through queue `from` (or balanced over from..to); with bypass the packet passes when nothing reads the queue. */
  | { kind: 'NFQUEUE'; from: number; to?: number; bypass: boolean }
  /** Sets (or ORs/ANDs) the packet mark (MARK) or the connection mark (CONNMARK); without a mask `set` replaces every bit. */
  | { kind: 'MARK' | 'CONNMARK'; operation: 'set' | 'or' | 'and'; value: number; mask?: number }
  /** Copies the bits under mask from the packet mark to the connection mark (save) or back (restore). */
  | { kind: 'SAVEMARK' | 'RESTOREMARK'; mask: number };

/**
 * Where a rule came from: the Shorewall-style file and line, and the database record a
 * fragment wrote that line from (`fwrules/17`), when the line says so. Rules the compiler
 * adds on its own (state rules, interface dispatch) have none.
 */
export interface RuleOrigin {
  /** The file as the compile read it (its directory included). */
  file: string;
  line: number;
  record?: string;
}

export interface IrRule {
  matches: Match[];
  target: Target;
  origin?: RuleOrigin;
}

export interface Chain {
  name: string;
  /** Built-in chains have a policy; user chains do not. */
  policy?: 'ACCEPT' | 'DROP';
  rules: IrRule[];
}

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter';

export interface Table {
  name: TableName;
  chains: Chain[];
}

export interface Ruleset {
  family: Family;
  tables: Table[];
}

/** Built-in chains of each table, in the order iptables-save prints them. */
export const BUILTIN_CHAINS: Record<TableName, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** A table under construction: chains in creation order, built-ins first. */
export class TableBuilder {
  private readonly chains = new Map<string, Chain>();
  /** Given to every rule added while it is set (see `from`). */
  private origin: RuleOrigin | undefined;

  constructor(
    readonly name: TableName,
    policies: Partial<Record<string, 'ACCEPT' | 'DROP'>> = {},
  ) {
    for (const builtin of BUILTIN_CHAINS[name]) {
      this.chains.set(builtin, { name: builtin, policy: policies[builtin] ?? 'ACCEPT', rules: [] });
    }
  }

  has(name: string): boolean {
    return this.chains.has(name);
  }

  chain(name: string): Chain {
    let chain = this.chains.get(name);
    if (!chain) {
      chain = { name, rules: [] };
      this.chains.set(name, chain);
    }
    return chain;
  }

  add(chain: string, matches: Match[], target: Target): void {
    this.chain(chain).rules.push(this.origin ? { matches, target, origin: this.origin } : { matches, target });
  }

  /** Runs `work` with every rule it adds marked as coming from `origin`. */
  from<T>(origin: RuleOrigin | undefined, work: () => T): T {
    const before = this.origin;
    this.origin = origin;
    try {
      return work();
    } finally {
      this.origin = before;
    }
  }

  build(): Table {
    return { name: this.name, chains: [...this.chains.values()] };
  }
}
