/**
 * The resolved gateway view: what the fragments print. Every list is already sorted and
 * every row already holds its final column text, so fragments only loop and print.
 */
import type { Place } from '../errors/index.js';
import type { Family } from './addresses.js';

export type { Family };

/**
 * One line of a Shorewall column file: its cells, the same cells named by the file's
 * columns (src/shorewall/columns.ts; set on every row handed to fragments, which print
 * them with `{{columns fields}}`), and the tab-joined text (what `{{columns fields}}` prints).
 */
export interface Row {
  cells: string[];
  line: string;
  fields?: Record<string, string>;
}

/** Rows that share one `?COMMENT` (the comment ends up in iptables-save as `-m comment`). */
export interface CommentedRows {
  comment: string;
  rows: Row[];
}

/** The `firewall` key of the configuration database, defaults applied. */
export interface FirewallSettings {
  policy: 'permissive' | 'strict';
  externalPing: boolean;
  hairpinNat: boolean;
  macValidation: boolean;
  macValidationPolicy: 'drop' | 'reject' | 'accept';
  docker: boolean;
  /** Event fired by firewall-adjust (undefined: the events stage's default). */
  event: string | undefined;
  /** TCP ports kept open from green while the firewall is stopped. */
  sshPort: string;
  adminPort: string;
}

export interface InterfaceAddress {
  /** The interface's own address, e.g. `192.168.1.1`. */
  address: string;
  /** Its network in CIDR form, e.g. `192.168.1.0/24`. */
  network: string;
  /** The networks record that holds it (the interface itself or one of its aliases). */
  record: string;
}

export interface NetworkInterface {
  name: string;
  type: string;
  role: string;
  zone: string;
  ipv4: InterfaceAddress[];
  ipv6: InterfaceAddress[];
}

export interface ZoneDefinition {
  name: string;
  /** Where it comes from: an interface role or a `zone` record. */
  origin: { role: string } | { zoneRecord: string };
  families: Family[];
}

/** Everything written under etc/shorewall (ipv4) or etc/shorewall6 (ipv6). */
export interface FamilyFiles {
  family: Family;
  /** Settings the fragments of shorewall.conf / shorewall6.conf print. */
  /** DOCKER is IPv4 only (Shorewall6 refuses it). */
  conf: { macListDisposition: string; docker: string };
  zones: Row[];
  interfaces: Row[];
  hosts: Row[];
  policy: Row[];
  rules: {
    /** Rules with State=all (SECTION ALL). */
    all: CommentedRows[];
    ping: Row[];
    dns: Row[];
    portForwards: CommentedRows[];
    /** Rules with State=new (the default), SECTION NEW. */
    rules: CommentedRows[];
    services: CommentedRows[];
    blueDns: Row[];
  };
  snat: {
    oneToOne: CommentedRows[];
    masquerade: Row[];
    hairpin: CommentedRows[];
  };
  maclist: Row[];
  stoppedRules: Row[];
}

/**
 * A record the model read but could not (or does not yet) turn into rules: it names the
 * record and says why. Nothing is dropped silently (README, "No silent drop").
 */
export interface ModelWarning {
  place: Place;
  message: string;
}

export interface GatewayModel {
  /** gateway: at least one red interface; server: none. */
  mode: 'gateway' | 'server';
  settings: FirewallSettings;
  interfaces: NetworkInterface[];
  zones: ZoneDefinition[];
  v4: FamilyFiles;
  v6: FamilyFiles;
  /** What was skipped or has no effect yet, each naming its record; in database order. */
  warnings: ModelWarning[];
  /** Providers, backup order, divert rules and static routes (IPv4). */
  multiwan: import('./multiwan.js').MultiWanRows;
}

export interface BuildModelOptions {
  /** Local time zone of time objects (default: the process's). */
  timeZone?: string;
  /** The moment whose UTC offset applies (default: now). */
  now?: Date;
}
