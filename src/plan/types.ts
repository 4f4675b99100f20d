/**
 * The plan as a value, shared by the compiler (which makes it) and the apply layer (which
 * reads it back from a plan directory). A plan directory holds every part's files side by
 * side, `summary.json`, and `plan.json` (the manifest: parts, inputs and file digests).
 */
import type { InterfaceAddresses } from '../compile/index.js';
import type { PlanOrigins } from './origins.js';

export type { InterfaceAddresses };

/** What went into the compile besides the Shorewall-style files, recorded so the same inputs give the same plan. */
/** How a producer (the REST API) declares a set it fills at run time; see the `runtime-ipsets` part. */
export interface RuntimeIpset {
  /** At most 31 letters, digits, _ . : - */
  name: string;
  family: 4 | 6;
  /** `hash:ip` for single addresses, `hash:net` when prefixes may be added, `hash:net,iface` for a network on an interface. */
  type: 'hash:ip' | 'hash:net' | 'hash:net,iface';
  /** Default timeout of entries in seconds (the set then supports timeouts; 0 = no expiry by default). */
  timeout?: number;
  /** Room for this many entries (default 65536). */
  maxelem?: number;
  /** Per-element packet and byte counters (the API's GET /list shows them). */
  counters?: boolean;
}

export interface PlanInputs {
  /** The target's global interface addresses (for `&eth0`), as read from it at compile time. */
  interfaceAddresses?: Record<string, InterfaceAddresses>;
  /** Sets filled at run time (the REST API's blocklist), declared by their producer. */
  runtimeIpsets?: RuntimeIpset[];
  /**
   * How long the plan's time windows stay right, recorded by the event that made it from
   * the databases (src/plan/time-windows.ts). Absent: a plan compiled from files by hand,
   * or made before Gatehouse recorded it.
   */
  timeWindows?: TimeWindowsRecord;
}

/** See PlanInputs.timeWindows; moments are ISO 8601 UTC text. */
export interface TimeWindowsRecord {
  /** The enabled fwrules records with a Time when the plan was made (none: nothing to renew). */
  rules: string[];
  /** With rules: the zone their local times were converted from. */
  timeZone?: string;
  /** With rules: the end of the offsets the TIME columns were written for (400 days ahead). */
  horizon?: string;
  /** With rules: the zone's first offset change past the horizon, when it has one. */
  nextChange?: string;
  /** With rules: when the columns stop being right (the next change), or, with none, when to look again. */
  holdsUntil?: string;
}

export interface Plan {
  /** Part name -> the part's files (file name -> text). File names are unique across parts. */
  parts: Record<string, Record<string, string>>;
  /** What the compiler reports (counts, notes), kept as summary.json. */
  summary: unknown;
  inputs: PlanInputs;
  /** Where each compiled rule came from (origins.json); absent in plans made by hand. */
  origins?: PlanOrigins;
}

/** `plan.json`: which parts the directory holds, what went in, and a digest of every file. */
export interface PlanManifest {
  format: 1;
  parts: Record<string, string[]>;
  inputs: PlanInputs;
  /** sha256 (hex) of every file but plan.json itself. */
  sha256: Record<string, string>;
}

export const MANIFEST_FILE = 'plan.json';
export const SUMMARY_FILE = 'summary.json';
