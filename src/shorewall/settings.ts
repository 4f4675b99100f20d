/**
 * `params` (NAME=value, usable as $NAME in every other file) and `shorewall.conf`
 * (the settings the compiler honours; the rest are kept and reported as ignored).
 */
import { GatehouseError } from '../errors/index.js';
import { parseRate } from './address.js';
import type { Params } from './lines.js';
import { shellLines, shellWord, type ShellLookup } from './shell.js';
import type { Disposition, PolicyDefaultAction, Settings, StateDispositions } from './types.js';

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/;

/**
 * How a name that nothing defines expands: in `params` (shell) to nothing; in
 * shorewall.conf to nothing when it looks like a Shorewall option (Shorewall knows every
 * option, set or not), else an error, since it is most likely a typing mistake.
 */
export type UndefinedNames = 'empty' | 'options-empty';

/** Reads NAME=value lines in order with the shell's quoting rules; later lines may use earlier names. */
export function parseAssignments(
  file: string,
  text: string,
  initial: Params,
  firewallZone: string,
  undefinedNames: UndefinedNames = 'empty',
): { values: Params; order: string[] } {
  const values: Params = { ...initial };
  const order: string[] = [];
  const lookup: ShellLookup = (name, place, column) => {
    if (name === 'FW') return firewallZone;
    const value = values[name];
    if (value !== undefined) return value;
    if (undefinedNames === 'empty' || /^[A-Z][A-Z0-9_]*$/.test(name)) return '';
    throw new GatehouseError(`parameter '${name}' is not defined`, {
      place: { ...place, column: String(column) },
      hint: `define ${name}=... in params, or single-quote the value to keep it literal`,
    });
  };
  for (const { text: line, line: lineNo } of shellLines(text)) {
    const place = { file, line: lineNo };
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = ASSIGNMENT.exec(trimmed);
    if (!m) {
      throw new GatehouseError('expected NAME=value', { place, hint: `${file} holds one NAME=value per line` });
    }
    const name = m[1] ?? '';
    const valueText = trimmed.slice(m[0].length);
    const column = line.indexOf('=') + 2;
    values[name] = shellWord(valueText, place, column, lookup);
    if (!order.includes(name)) order.push(name);
  }
  return { values, order };
}

const HONOURED = new Set([
  'DOCKER',
  'IP_FORWARDING',
  'MACLIST_DISPOSITION',
  'MACLIST_TABLE',
  'MACLIST_LOG_LEVEL',
  'LOGFORMAT',
  'LOGLIMIT',
  'BLACKLIST',
  'BLACKLIST_DISPOSITION',
  'RELATED_DISPOSITION',
  'RELATED_LOG_LEVEL',
  'INVALID_DISPOSITION',
  'INVALID_LOG_LEVEL',
  'UNTRACKED_DISPOSITION',
  'UNTRACKED_LOG_LEVEL',
  'TCP_FLAGS_DISPOSITION',
  'TCP_FLAGS_LOG_LEVEL',
  'SMURF_DISPOSITION',
  'SMURF_LOG_LEVEL',
  'ROUTE_FILTER',
  'LOG_MARTIANS',
  'CLAMPMSS',
  'DROP_DEFAULT',
  'REJECT_DEFAULT',
]);

const SYSLOG_LEVELS = new Set(['debug', 'info', 'notice', 'warning', 'warn', 'err', 'error', 'crit', 'alert', 'emerg', 'panic', '0', '1', '2', '3', '4', '5', '6', '7']);

/**
 * Settings that do not change what the compiled rulesets do: how Shorewall's own tools
 * run (paths, verbosity, locking, remote commands), optimisations with the same verdicts,
 * stages Gatehouse compiles elsewhere (traffic shaping, providers), and features whose
 * files Gatehouse refuses when they have content. Reported once, grouped, with --verbose.
 */
const INERT = new Set([
  'STARTUP_ENABLED', 'VERBOSITY', 'PAGER', 'FIREWALL', 'LOG_VERBOSITY', 'LOGFILE', 'LOG_ZONE', 'STARTUP_LOG', 'ARPTABLES',
  'CONFIG_PATH', 'GEOIPDIR', 'IPTABLES', 'IP', 'IPSET', 'LOCKFILE', 'MODULESDIR', 'NFACCT', 'PERL', 'PATH', 'RESTOREFILE',
  'SHOREWALL_SHELL', 'SUBSYSLOCK', 'TC', 'IP6TABLES', 'RCP_COMMAND', 'RSH_COMMAND', 'ADD_IP_ALIASES', 'ADD_SNAT_ALIASES', 'AUTOCOMMENT',
  'AUTOMAKE', 'DEFER_DNS_RESOLUTION', 'DELETE_THEN_ADD', 'EXPORTMODULES', 'IPSET_WARNINGS', 'KEEP_RT_TABLES', 'MUTEX_TIMEOUT',
  'OPTIMIZE', 'OPTIMIZE_ACCOUNTING', 'PERL_HASH_SEED', 'RENAME_COMBINED', 'RESTART', 'RESTORE_DEFAULT_ROUTE', 'RETAIN_ALIASES',
  'SAVE_ARPTABLES', 'SAVE_IPSETS', 'TRACK_RULES', 'USE_NFLOG_SIZE', 'USE_PHYSICAL_NAMES', 'USE_RT_NAMES', 'VERBOSE_MESSAGES',
  'WARNOLDCAPVERSION', 'WORKAROUNDS', 'ZONE2ZONE', 'IGNOREUNKNOWNVARIABLES', 'LOG_LEVEL', 'DONT_LOAD', 'HELPERS', 'AUTOHELPERS',
  'FASTACCEPT', 'DYNAMIC_BLACKLIST', 'BLACKLIST_DEFAULT', 'BLACKLIST_LOG_LEVEL', 'MANGLE_ENABLED', 'MARK_IN_FORWARD_CHAIN',
  'TC_ENABLED', 'TC_EXPERT', 'TC_PRIOMAP', 'CLEAR_TC', 'TC_BITS', 'PROVIDER_BITS', 'PROVIDER_OFFSET', 'MASK_BITS', 'ZONE_BITS',
  'TRACK_PROVIDERS', 'USE_DEFAULT_RT', 'BALANCE_PROVIDERS', 'RESTORE_ROUTEMARKS', 'FORWARD_CLEAR_MARK', 'ZERO_MARKS',
  'DOCKER_BRIDGE', 'ACCOUNTING', 'ACCOUNTING_TABLE', 'REQUIRE_INTERFACE', 'RPFILTER_DISPOSITION', 'RPFILTER_LOG_LEVEL',
  'SFILTER_DISPOSITION', 'SFILTER_LOG_LEVEL', 'LOG_BACKEND', 'REJECT_ACTION', 'ACCEPT_DEFAULT', 'QUEUE_DEFAULT', 'NFQUEUE_DEFAULT',
]);

/**
 * Settings that change meaning when they leave the value Gatehouse behaves as: the value
 * (upper case) that is inert, and what is lost otherwise. A different value is a warning.
 */
const MEANING: Record<string, { inert: (v: string) => boolean; lost: string }> = {
  EXPAND_POLICIES: { inert: (v) => v === 'YES', lost: 'Gatehouse always expands policies into one chain per zone pair' },
  ADMINISABSENTMINDED: { inert: (v) => v === 'YES', lost: 'the stopped state always lets the firewall itself send' },
  MULTICAST: { inert: (v) => v === 'NO', lost: 'multicast is not treated specially' },
  MINIUPNPD: { inert: (v) => v === 'NO', lost: 'no miniupnpd chains' },
  NULL_ROUTE_RFC1918: { inert: (v) => v === 'NO', lost: 'RFC 1918 networks are not null-routed' },
  DETECT_DNAT_IPADDRS: { inert: (v) => v === 'NO', lost: 'DNAT rules do not detect the addresses of their interfaces' },
  IMPLICIT_CONTINUE: { inert: (v) => v === 'NO', lost: 'sub-zones do not continue implicitly' },
  COMPLETE: { inert: (v) => v === 'NO', lost: 'the all all policy is not forced complete' },
  DISABLE_IPV6: { inert: (v) => v === 'NO', lost: 'IPv6 is not disabled' },
  BASIC_FILTERS: { inert: (v) => v === 'NO', lost: 'no basic filters' },
  LOGTAGONLY: { inert: (v) => v === 'NO', lost: 'log tags are not used alone' },
  MACLIST_TTL: { inert: (v) => v === '' || v === '0', lost: 'MAC verdicts are not cached' },
  LOGALLNEW: { inert: (v) => v === '', lost: 'new connections are not all logged' },
};


const CONF = 'shorewall.conf';

function placeOf(text: string, name: string): { file: string; line: number } {
  const index = text.split('\n').findIndex((l) => new RegExp(`^\\s*(export\\s+)?${name}=`).test(l));
  return { file: CONF, line: index + 1 };
}

/** Validates the honoured settings; returns them with a note naming the ignored ones. */
export function parseSettings(text: string | undefined, params: Params, firewallZone: string): { settings: Settings; notes: string[]; details: string[] } {
  const { values, order } = text === undefined ? { values: {}, order: [] } : parseAssignments(CONF, text, params, firewallZone, 'options-empty');
  const raw: Record<string, string> = {};
  for (const name of order) raw[name] = values[name] ?? '';
  const fail = (name: string, message: string, hint: string) =>
    new GatehouseError(message, { place: placeOf(text ?? '', name), hint });

  const pick = (name: string): string | undefined => {
    const v = raw[name];
    return v === undefined || v === '' ? undefined : v;
  };

  let ipForwarding: Settings['ipForwarding'];
  const fwd = pick('IP_FORWARDING')?.toLowerCase();
  if (fwd !== undefined) {
    if (fwd === 'on' || fwd === 'yes') ipForwarding = 'On';
    else if (fwd === 'off' || fwd === 'no') ipForwarding = 'Off';
    else if (fwd === 'keep') ipForwarding = 'Keep';
    else throw fail('IP_FORWARDING', `IP_FORWARDING=${fwd} is not valid`, 'expected On, Off or Keep');
  }

  const table = (pick('MACLIST_TABLE') ?? 'filter').toLowerCase();
  if (table !== 'filter' && table !== 'mangle') {
    throw fail('MACLIST_TABLE', `MACLIST_TABLE=${table} is not valid`, 'expected filter or mangle');
  }
  const disposition = (pick('MACLIST_DISPOSITION') ?? 'REJECT').toUpperCase();
  if (disposition !== 'ACCEPT' && disposition !== 'DROP' && disposition !== 'REJECT') {
    throw fail('MACLIST_DISPOSITION', `MACLIST_DISPOSITION=${disposition} is not valid`, 'expected ACCEPT, DROP or REJECT');
  }
  if (disposition === 'REJECT' && table === 'mangle') {
    throw fail('MACLIST_DISPOSITION', 'MACLIST_DISPOSITION=REJECT cannot work in the mangle table', 'use DROP with MACLIST_TABLE=mangle');
  }

  let logLimit: Settings['logLimit'];
  const limitText = pick('LOGLIMIT');
  if (limitText !== undefined) {
    logLimit = parseRate(limitText);
    if (!logLimit) throw fail('LOGLIMIT', `LOGLIMIT=${limitText} is not valid`, 'expected [s:|d:]rate/unit[:burst], e.g. s:1/sec:10');
  }

  const blacklist = (pick('BLACKLIST') ?? 'NEW,INVALID,UNTRACKED').toUpperCase().split(',');
  for (const state of blacklist) {
    if (!['ALL', 'NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'].includes(state)) {
      throw fail('BLACKLIST', `'${state}' is not a connection state`, 'expected a list of NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED, or ALL');
    }
  }
  const blDisposition = (pick('BLACKLIST_DISPOSITION') ?? 'DROP').toUpperCase();
  if (blDisposition !== 'DROP' && blDisposition !== 'REJECT') {
    throw fail('BLACKLIST_DISPOSITION', `BLACKLIST_DISPOSITION=${blDisposition} is not supported`, 'expected DROP or REJECT');
  }

  const logLevel = (name: string): string | undefined => {
    const v = pick(name)?.replace(/!$/, '').toLowerCase();
    if (v === undefined || v === 'none') return undefined;
    if (!SYSLOG_LEVELS.has(v)) throw fail(name, `${name}=${v} is not a log level Gatehouse supports`, 'expected a syslog level (info, notice, warning, ...), 0-7, none or nothing');
    return v;
  };
  // Shorewall's defaults when a disposition is not set: RELATED accepted, INVALID and
  // UNTRACKED continue to the rules, impossible TCP flags and smurfs dropped.
  function stateDisposition<V extends string>(name: string, fallback: V, allowed: readonly V[], level: string): Disposition<V> {
    const text = (pick(name) ?? fallback).toUpperCase();
    if (!(allowed as readonly string[]).includes(text)) {
      const audit = /^A_/.test(text) ? ' (audited dispositions are not supported)' : '';
      throw fail(name, `${name}=${text} is not valid${audit}`, `expected ${allowed.join(', ')}`);
    }
    const log = logLevel(level);
    return log === undefined ? { verdict: text as V } : { verdict: text as V, log };
  }
  const dispositions: StateDispositions = {
    related: stateDisposition('RELATED_DISPOSITION', 'ACCEPT', ['ACCEPT', 'DROP', 'REJECT', 'CONTINUE'] as const, 'RELATED_LOG_LEVEL'),
    invalid: stateDisposition('INVALID_DISPOSITION', 'CONTINUE', ['DROP', 'REJECT', 'CONTINUE'] as const, 'INVALID_LOG_LEVEL'),
    untracked: stateDisposition('UNTRACKED_DISPOSITION', 'CONTINUE', ['ACCEPT', 'DROP', 'REJECT', 'CONTINUE'] as const, 'UNTRACKED_LOG_LEVEL'),
    tcpFlags: stateDisposition('TCP_FLAGS_DISPOSITION', 'DROP', ['ACCEPT', 'DROP', 'REJECT'] as const, 'TCP_FLAGS_LOG_LEVEL'),
    smurf: stateDisposition('SMURF_DISPOSITION', 'DROP', ['DROP'] as const, 'SMURF_LOG_LEVEL'),
  };

  const yesNo = (name: string): boolean => {
    const v = (pick(name) ?? 'No').toLowerCase();
    if (v === 'yes' || v === 'on') return true;
    if (v === 'no' || v === 'off' || v === 'keep') return false;
    throw fail(name, `${name}=${pick(name) ?? ''} is not valid`, 'expected Yes, No or Keep');
  };

  const policyActions = (name: string): PolicyDefaultAction[] => {
    const text = pick(name);
    if (text === undefined || text.toLowerCase() === 'none') return [];
    return text.split(',').map((a) => {
      const action = a.replace(/^(Broadcast|Multicast)$/, '$1(DROP)');
      if (action === 'AllowICMPs' || action === 'Broadcast(DROP)' || action === 'Multicast(DROP)') return action;
      throw fail(name, `${name}: the default action '${a}' is not supported`, 'expected none, or a list of AllowICMPs, Broadcast(DROP), Multicast(DROP)');
    });
  };

  // CLAMPMSS=Yes clamps the MSS of forwarded SYNs to the path MTU; a number sets it (when larger).
  const clampText = pick('CLAMPMSS');
  let clampMss: Settings['clampMss'];
  if (clampText !== undefined && !/^(no|off|)$/i.test(clampText)) {
    if (/^(yes|on)$/i.test(clampText)) clampMss = 'pmtu';
    else if (/^\d{2,5}$/.test(clampText) && Number(clampText) >= 88 && Number(clampText) <= 65495) clampMss = Number(clampText);
    else throw fail('CLAMPMSS', `CLAMPMSS=${clampText} is not valid`, 'expected Yes (clamp to the path MTU), No, or an MSS in bytes (88-65495)');
  }

  const settings: Settings = {
    ipForwarding,
    maclistDisposition: disposition,
    maclistTable: table,
    logFormat: pick('LOGFORMAT') ?? 'Shorewall:%s:%s:',
    blacklistStates: blacklist.includes('ALL') ? ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'] : blacklist,
    blacklistDisposition: blDisposition,
    dispositions,
    policyDefaults: { DROP: policyActions('DROP_DEFAULT'), REJECT: policyActions('REJECT_DEFAULT') },
    routeFilter: yesNo('ROUTE_FILTER'),
    logMartians: yesNo('LOG_MARTIANS'),
    docker: yesNo('DOCKER'),
    raw,
  };
  if (clampMss !== undefined) settings.clampMss = clampMss;
  const maclistLevel = pick('MACLIST_LOG_LEVEL');
  if (maclistLevel !== undefined && maclistLevel.toLowerCase() !== 'none') settings.maclistLogLevel = maclistLevel.toLowerCase();
  if (logLimit) settings.logLimit = logLimit;
  const inert: string[] = [];
  const notes: string[] = [];
  const unknown: string[] = [];
  for (const name of order) {
    if (HONOURED.has(name)) continue;
    const value = (raw[name] ?? '').toUpperCase();
    const meaning = MEANING[name];
    if (meaning) {
      if (meaning.inert(value)) inert.push(name);
      else notes.push(`${CONF}:${placeOf(text ?? '', name).line}: ${name}=${raw[name]} is not acted upon: ${meaning.lost}`);
    } else if (INERT.has(name)) inert.push(name);
    else unknown.push(name);
  }
  if (unknown.length > 0) notes.push(`${CONF}: unknown settings, ignored: ${unknown.join(', ')}`);
  const details = inert.length > 0 ? [`${CONF}: ${inert.length} settings without effect on the rulesets: ${inert.join(', ')}`] : [];
  return { settings, notes, details };
}
