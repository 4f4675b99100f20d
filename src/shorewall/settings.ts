/**
 * `params` (NAME=value, usable as $NAME in every other file) and `shorewall.conf`
 * (the settings the compiler honours; the rest are kept and reported as ignored).
 */
import { GatehouseError } from '../errors/index.js';
import { parseRate } from './address.js';
import type { Params } from './lines.js';
import { shellLines, shellWord, type ShellLookup } from './shell.js';
import type { Disposition, Settings, StateDispositions } from './types.js';

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
]);

const SYSLOG_LEVELS = new Set(['debug', 'info', 'notice', 'warning', 'warn', 'err', 'error', 'crit', 'alert', 'emerg', 'panic', '0', '1', '2', '3', '4', '5', '6', '7']);

const CONF = 'shorewall.conf';

function placeOf(text: string, name: string): { file: string; line: number } {
  const index = text.split('\n').findIndex((l) => new RegExp(`^\\s*(export\\s+)?${name}=`).test(l));
  return { file: CONF, line: index + 1 };
}

/** Validates the honoured settings; returns them with a note naming the ignored ones. */
export function parseSettings(text: string | undefined, params: Params, firewallZone: string): { settings: Settings; notes: string[] } {
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

  const settings: Settings = {
    ipForwarding,
    maclistDisposition: disposition,
    maclistTable: table,
    logFormat: pick('LOGFORMAT') ?? 'Shorewall:%s:%s:',
    blacklistStates: blacklist.includes('ALL') ? ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'] : blacklist,
    blacklistDisposition: blDisposition,
    dispositions,
    raw,
  };
  const maclistLevel = pick('MACLIST_LOG_LEVEL');
  if (maclistLevel !== undefined && maclistLevel.toLowerCase() !== 'none') settings.maclistLogLevel = maclistLevel.toLowerCase();
  if (logLimit) settings.logLimit = logLimit;
  const ignored = order.filter((n) => !HONOURED.has(n));
  const notes = ignored.length > 0 ? [`shorewall.conf: kept but not acted upon: ${ignored.join(', ')}`] : [];
  return { settings, notes };
}
