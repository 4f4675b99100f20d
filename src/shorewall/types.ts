/**
 * The typed configuration read from a Shorewall-style directory. It stays close to the
 * files (one entry per line, after macro and protocol-list expansion) and carries every
 * entry's place, so the compiler can still point at the line that caused a problem.
 */

import type { MangleEntry } from './mangle.js';

export type Family = 4 | 6;

/** Where an entry came from: file name (as in the directory) and physical line. */
export interface SourcePlace {
  file: string;
  line: number;
}

export type ZoneType = 'firewall' | 'ip' | 'ipv4' | 'ipv6';

export interface Zone {
  name: string;
  type: ZoneType;
  place: SourcePlace;
}

export interface InterfaceOptions {
  /** `ignore`: Shorewall generates nothing for the interface (its traffic meets the all policies). */
  ignore: boolean;
  /** `routefilter` (strict) or `routefilter=2` (loose): reverse-path check of source addresses. */
  routefilter: 'off' | 'strict' | 'loose';
  /** Log what the reverse-path check drops. */
  logmartians: boolean;
  routeback: boolean;
  dhcp: boolean;
  tcpflags: boolean;
  nosmurfs: boolean;
  maclist: boolean;
  optional: boolean;
  bridge: boolean;
}

export interface Interface {
  /** Undefined for `-`: the interface belongs to zones only through `hosts` entries. */
  zone: string | undefined;
  /** Logical name used in other files. */
  name: string;
  /** Kernel name (`physical=`, else the logical name); may end in `+` (wildcard). */
  physical: string;
  options: InterfaceOptions;
  place: SourcePlace;
}

export interface HostOptions {
  routeback: boolean;
  maclist: boolean;
  tcpflags: boolean;
  nosmurfs: boolean;
}

export interface Host {
  zone: string;
  interface: string;
  addresses: AddressList;
  options: HostOptions;
  place: SourcePlace;
}

/** One item of an address list. Networks and ranges carry their family. */
export type AddressItem =
  | { kind: 'net'; family: Family; address: string }
  | { kind: 'range'; family: Family; from: string; to: string }
  | { kind: 'mac'; mac: string }
  | { kind: 'ipset'; name: string }
  | { kind: 'interfaceAddress'; interface: string };

export interface AddressList {
  items: AddressItem[];
  /** `!a,b`: everything except these. */
  negate: boolean;
  /** `a,b!c,d`: the items except these (never with negate). */
  except?: AddressItem[];
}

/** The zones a rule or policy names. */
export type ZoneSelector =
  | { kind: 'zones'; names: string[]; includeIntra: boolean }
  | { kind: 'all'; includeIntra: boolean; includeFirewall: boolean; except: string[] };

export interface Endpoint {
  zones: ZoneSelector;
  addresses?: AddressList;
}

export type RuleSection = 'ALL' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED' | 'NEW';

export type RuleAction =
  | 'ACCEPT'
  | 'ACCEPT+'
  | 'DROP'
  | 'REJECT'
  | 'CONTINUE'
  | 'DNAT'
  | 'DNAT-'
  | 'REDIRECT'
  | 'REDIRECT-'
  | 'WHITELIST'
  | 'BLACKLIST';

/** Where DNAT sends a connection: an address (or range) and optionally a port or port range. */
export interface NatTarget {
  address?: AddressItem & { kind: 'net' | 'range' };
  port?: string;
}

export interface TimeSpec {
  utc: boolean;
  weekdays?: string;
  monthdays?: string;
  timestart?: string;
  timestop?: string;
  datestart?: string;
  datestop?: string;
}

/** `rate/unit[:burst]`, optionally per source (`s:`) or per destination (`d:`). */
export interface RateLimit {
  per?: 'src' | 'dst';
  name?: string;
  rate: string;
  burst?: number;
}

/**
 * Shorewall's standard actions that add a condition to a verdict: Invalid(DROP) is DROP
 * for packets conntrack finds INVALID, Broadcast and Multicast match those destinations.
 */
export type RuleCondition = 'invalid' | 'broadcast' | 'multicast';

export interface Rule {
  section: RuleSection;
  action: RuleAction;
  condition?: RuleCondition;
  /** Syslog level (or number) when the rule logs; absent when it does not. */
  log?: string;
  source: Endpoint;
  dest: Endpoint;
  /** DNAT destination, or the REDIRECT port. */
  natTarget?: NatTarget;
  /** Lower-case protocol name or number; absent means any. */
  proto?: string;
  /** Ports (`80`, `1000:2000`) or, for ICMP, one type (`8`, `8/0`, `echo-request`). */
  dports?: string[];
  sports?: string[];
  origdest?: AddressList;
  rate?: RateLimit;
  time?: TimeSpec;
  comment?: string;
  place: SourcePlace;
}

export type PolicyVerdict = 'ACCEPT' | 'DROP' | 'REJECT' | 'CONTINUE' | 'NONE';

export interface Policy {
  source: ZoneSelector;
  dest: ZoneSelector;
  policy: PolicyVerdict;
  log?: string;
  place: SourcePlace;
}

export type SnatAction =
  | { kind: 'MASQUERADE'; ports?: string }
  | { kind: 'SNAT'; to: string; ports?: string }
  | { kind: 'CONTINUE' }
  | { kind: 'ACCEPT' };

export interface SnatEntry {
  action: SnatAction;
  source?: AddressList;
  /** Outgoing interface (physical name, may end in `+`). */
  interface: string;
  dest?: AddressList;
  proto?: string;
  dports?: string[];
  origdest?: AddressList;
  comment?: string;
  place: SourcePlace;
}

export interface OneToOneNat {
  external: string;
  interface: string;
  internal: string;
  allInterfaces: boolean;
  local: boolean;
  place: SourcePlace;
}

export interface MaclistEntry {
  disposition: 'ACCEPT' | 'DROP' | 'REJECT';
  log?: string;
  interface: string;
  mac: string;
  addresses?: AddressList;
  place: SourcePlace;
}

/** One end of a stoppedrules line: the firewall, or an interface and/or addresses, or anything. */
export interface StoppedEnd {
  firewall: boolean;
  interface?: string;
  addresses?: AddressList;
}

export interface StoppedRule {
  target: 'ACCEPT' | 'DROP' | 'NOTRACK';
  source: StoppedEnd;
  dest: StoppedEnd;
  proto?: string;
  dports?: string[];
  sports?: string[];
  place: SourcePlace;
}

/** A disposition with the log level of its *_LOG_LEVEL setting, when it logs. */
export interface Disposition<V extends string> {
  verdict: V;
  log?: string;
}

export interface StateDispositions {
  related: Disposition<'ACCEPT' | 'DROP' | 'REJECT' | 'CONTINUE'>;
  invalid: Disposition<'DROP' | 'REJECT' | 'CONTINUE'>;
  untracked: Disposition<'ACCEPT' | 'DROP' | 'REJECT' | 'CONTINUE'>;
  /** Interfaces with tcpflags: packets with impossible flag combinations. */
  tcpFlags: Disposition<'ACCEPT' | 'DROP' | 'REJECT'>;
  /** Interfaces with nosmurfs: broadcast and multicast sources. */
  smurf: Disposition<'DROP'>;
}

/**
 * Shorewall's standard actions that a policy may run first: AllowICMPs (IPv6: the ICMPv6
 * errors, neighbour discovery and multicast listener messages IPv6 needs), and
 * Broadcast(DROP) / Multicast(DROP) (silence instead of a refusal).
 */
export type PolicyDefaultAction = 'AllowICMPs' | 'Broadcast(DROP)' | 'Multicast(DROP)';

/** The shorewall.conf settings the compiler honours, already validated. */
export interface Settings {
  ipForwarding: 'On' | 'Off' | 'Keep' | undefined;
  maclistDisposition: 'ACCEPT' | 'DROP' | 'REJECT';
  maclistTable: 'filter' | 'mangle';
  maclistLogLevel?: string;
  /** printf-like prefix with two %s: chain and disposition. */
  logFormat: string;
  logLimit?: RateLimit;
  /** Connection states the blrules apply to. */
  blacklistStates: string[];
  blacklistDisposition: 'DROP' | 'REJECT';
  /** What happens to packets of each conntrack state before the rules (Shorewall's *_DISPOSITION). */
  dispositions: StateDispositions;
  /** DROP_DEFAULT / REJECT_DEFAULT: standard actions run before a DROP or REJECT policy. */
  policyDefaults: { DROP: PolicyDefaultAction[]; REJECT: PolicyDefaultAction[] };
  /** ROUTE_FILTER=Yes: the reverse-path check on every interface. */
  routeFilter: boolean;
  /** LOG_MARTIANS=Yes: log what the reverse-path check drops, on every interface. */
  logMartians: boolean;
  /** DOCKER=Yes: Gatehouse's forward filtering goes into Docker's DOCKER-USER chain (IPv4). */
  docker?: boolean;
  /** Every setting as written (after substitution), including the ones we ignore. */
  raw: Record<string, string>;
}

export interface ShorewallConfig {
  family: Family;
  dir: string;
  /** Name of the zone of type `firewall` (`$FW`). */
  firewallZone: string;
  settings: Settings;
  zones: Zone[];
  interfaces: Interface[];
  hosts: Host[];
  policies: Policy[];
  rules: Rule[];
  blrules: Rule[];
  snat: SnatEntry[];
  nat: OneToOneNat[];
  maclist: MaclistEntry[];
  stoppedRules: StoppedRule[];
  /** The mangle file's entries, in file order (every matching entry acts). */
  mangle: MangleEntry[];
  /** providers, rtrules and routes (IPv4). */
  routing: import('./providers.js').RoutingConfig;
  /** Things read and not acted upon that change meaning: worth a warning. */
  notes: string[];
  /** Things read that make no difference to the rulesets (inert settings, documentation files): shown with --verbose. */
  details: string[];
}
