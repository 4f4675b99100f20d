/**
 * Time objects (local WeekDays, TimeStart, TimeStop) to Shorewall TIME columns in UTC.
 * Unlike NethServer, weekdays move with the window when the conversion crosses midnight,
 * and a window that wraps midnight (22:00-06:00) is split into one column per UTC day.
 * Across a daylight-saving change the columns are written once per offset, each bounded
 * by datestart/datestop at the change, so they stay right without another event.
 */
import { type Database, configuredTimeZone } from '../db/index.js';
import { GatehouseError, type Place } from '../errors/index.js';
import { propOf } from './settings.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const DAY_MINUTES = 1440;

/** Minutes the zone is ahead of UTC at that moment (Europe/Rome in winter: 60). */
export function utcOffsetMinutes(timeZone: string, at: Date): number {
  return offsetReader(timeZone)(at);
}

/** One UTC offset over a stretch of time; no `from` or `until`: open on that side. */
export interface OffsetPeriod {
  offsetMinutes: number;
  from?: Date;
  until?: Date;
}

/** A fixed offset, or the offsets of a time zone period by period (see utcOffsetPeriods). */
export type UtcOffsets = number | readonly OffsetPeriod[];

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const SCAN_STEP_MS = 7 * DAY_MS;

/** How far ahead windows are written for each offset: a year and a month. */
export const OFFSET_HORIZON_DAYS = 400;

/**
 * The zone's offsets from `now` over the next `days` days, split at each change (to the
 * minute). The first period has no `from`, the last no `until`: past the horizon the last
 * offset holds until the next event. A zone without changes gives one open period. The
 * scan steps a week at a time: two changes less than a week apart that come back to the
 * same offset would be missed (no zone's rules have them).
 */
export function utcOffsetPeriods(timeZone: string, now: Date, days: number = OFFSET_HORIZON_DAYS): OffsetPeriod[] {
  const offsetAt = offsetReader(timeZone);
  const periods: OffsetPeriod[] = [];
  const end = now.getTime() + days * DAY_MS;
  let current: OffsetPeriod = { offsetMinutes: offsetAt(now) };
  // A week at a time (changes are months apart), then to the minute where the offset changed.
  let seen = now.getTime();
  while (seen < end) {
    const next = Math.min(seen + SCAN_STEP_MS, end);
    const offset = offsetAt(new Date(next));
    if (offset === current.offsetMinutes) {
      seen = next;
      continue;
    }
    let lo = seen;
    let hi = next;
    while (hi - lo > MINUTE_MS) {
      const mid = Math.floor((lo + hi) / 2 / MINUTE_MS) * MINUTE_MS;
      if (mid <= lo) break;
      if (offsetAt(new Date(mid)) === current.offsetMinutes) lo = mid;
      else hi = mid;
    }
    const change = new Date(Math.ceil(hi / MINUTE_MS) * MINUTE_MS);
    periods.push({ ...current, until: change });
    current = { offsetMinutes: offsetAt(change), from: change };
    seen = change.getTime();
  }
  periods.push(current);
  return periods;
}

function offsetReader(timeZone: string): (at: Date) => number {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
  } catch {
    throw new GatehouseError(`unknown time zone '${timeZone}'`, { hint: 'use an IANA name such as Europe/Rome or UTC' });
  }
  return (at) => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    const local = Date.UTC(parts['year'] ?? 0, (parts['month'] ?? 1) - 1, parts['day'] ?? 1, parts['hour'] ?? 0, parts['minute'] ?? 0);
    const atMinute = Math.floor(at.getTime() / 60_000) * 60_000;
    return Math.round((local - atMinute) / 60_000);
  };
}

/** `2026-03-29T01:00:00`, UTC, as Shorewall's datestart/datestop take it. */
function dateText(at: Date): string {
  return at.toISOString().slice(0, 19);
}

/**
 * The TIME column values for a time object; `['-']` when it restricts nothing. With the
 * offsets of several periods, each period's columns are bounded by datestart (its first
 * second) and datestop (its last second: iptables compares both inclusively).
 */
export function utcWindows(fwtimes: Database, key: string, offsets: UtcOffsets): string[] {
  if (typeof offsets === 'number') return utcWindowsAt(fwtimes, key, offsets);
  if (offsets.length === 1) return utcWindowsAt(fwtimes, key, offsets[0]!.offsetMinutes);
  const out: string[] = [];
  for (const period of offsets) {
    const bounds = [
      ...(period.from ? [`datestart=${dateText(period.from)}`] : []),
      ...(period.until ? [`datestop=${dateText(new Date(period.until.getTime() - 1000))}`] : []),
    ].join('&');
    for (const column of utcWindowsAt(fwtimes, key, period.offsetMinutes)) out.push(column === '-' ? `utc&${bounds}` : `${column}&${bounds}`);
  }
  return out;
}

function clock(minutes: number): string {
  if (minutes >= DAY_MINUTES) return '23:59:59';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

function parseClock(text: string, place: Place): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  const h = m ? Number(m[1]) : NaN;
  const min = m ? Number(m[2]) : NaN;
  if (!(h >= 0 && h <= 23 && min >= 0 && min <= 59)) {
    throw new GatehouseError(`'${text}' is not a time of day`, { place, hint: 'write HH:MM in local time, e.g. 08:30' });
  }
  return h * 60 + min;
}

function utcWindowsAt(fwtimes: Database, key: string, offsetMinutes: number): string[] {
  const place = (prop: string): Place => ({ db: 'fwtimes', key, prop });
  const daysText = propOf(fwtimes, key, 'WeekDays');
  const startText = propOf(fwtimes, key, 'TimeStart');
  const stopText = propOf(fwtimes, key, 'TimeStop');
  let days: number[] | undefined;
  if (daysText !== undefined) {
    days = [];
    for (const item of daysText.split(',').map((d) => d.trim()).filter((d) => d !== '')) {
      const index = DAYS.findIndex((d) => d.toLowerCase() === item.toLowerCase());
      if (index < 0) throw new GatehouseError(`'${item}' is not a weekday`, { place: place('WeekDays'), hint: `use ${DAYS.join(', ')}` });
      if (!days.includes(index)) days.push(index);
    }
  }
  if (days === undefined && startText === undefined && stopText === undefined) return ['-'];
  const start = startText === undefined ? 0 : parseClock(startText, place('TimeStart'));
  let stop = stopText === undefined ? DAY_MINUTES : parseClock(stopText, place('TimeStop'));
  if (stop <= start) stop += DAY_MINUTES;
  if (offsetMinutes === 0 && start === 0 && stop === DAY_MINUTES && days === undefined) return ['-'];

  const utcStart = start - offsetMinutes;
  const utcStop = stop - offsetMinutes;
  const out: string[] = [];
  for (let day = Math.floor(utcStart / DAY_MINUTES); day * DAY_MINUTES < utcStop; day++) {
    const from = Math.max(utcStart, day * DAY_MINUTES) - day * DAY_MINUTES;
    const to = Math.min(utcStop, (day + 1) * DAY_MINUTES) - day * DAY_MINUTES;
    if (to <= from) continue;
    const parts = ['utc'];
    if (days !== undefined) {
      const shifted = days.map((d) => (((d + day) % 7) + 7) % 7).sort((a, b) => a - b);
      parts.push(`weekdays=${shifted.map((d) => DAYS[d]).join(',')}`);
    }
    if (from > 0 || to < DAY_MINUTES) parts.push(`timestart=${clock(from)}`, `timestop=${clock(to)}`);
    out.push(parts.join('&'));
  }
  return out;
}

/** The TIME column values for a record's `Time` prop (`time;K`); `['-']` when it has none. */
export function timeWindowsOf(fwtimes: Database, timeRef: string | undefined, place: Place, offsetMinutes: () => UtcOffsets): string[] {
  if (timeRef === undefined || timeRef.trim() === '') return ['-'];
  const timeKey = timeRef.startsWith('time;') ? timeRef.slice(5) : undefined;
  if (timeKey === undefined || fwtimes[timeKey]?.type !== 'time') {
    throw new GatehouseError(`refers to time '${timeRef}', which does not exist`, { place, hint: 'use time;K with K a record of type time in fwtimes' });
  }
  return utcWindows(fwtimes, timeKey, offsetMinutes());
}

/** The zone time windows are converted from: the given one, else the configured TimeZone, else the process's. */
export function localTimeZone(configuration: Database, options: { timeZone?: string } = {}): string {
  return options.timeZone ?? configuredTimeZone(configuration) ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The offsets time windows are compiled with: the configured TimeZone (else the process's)
 * from `now` (default: this moment) over the next OFFSET_HORIZON_DAYS days.
 */
export function localUtcOffsets(configuration: Database, options: { timeZone?: string; now?: Date } = {}): OffsetPeriod[] {
  return utcOffsetPeriods(localTimeZone(configuration, options), options.now ?? new Date());
}

/** How long time windows compiled at one moment stay right (see timeWindowsHorizon). */
export interface TimeWindowsHorizon {
  timeZone: string;
  /** The end of the offsets the windows were written for: the moment plus OFFSET_HORIZON_DAYS. */
  horizon: Date;
  /**
   * The zone's first offset change past the horizon: from then on the last offset, which
   * the windows keep, is wrong. Absent: no change in the OFFSET_HORIZON_DAYS after the horizon.
   */
  nextChange?: Date;
  /**
   * When the windows must have been compiled again: the next change, else the end of the
   * span looked at (the horizon plus OFFSET_HORIZON_DAYS), so a zone without changes is
   * looked at again now and then (a newer time zone database may give it some).
   */
  holdsUntil: Date;
}

/**
 * How long the windows of utcOffsetPeriods(timeZone, now, days) stay right: every change
 * up to the horizon has columns of its own, the last offset holds until the next change.
 */
export function timeWindowsHorizon(timeZone: string, now: Date, days: number = OFFSET_HORIZON_DAYS): TimeWindowsHorizon {
  const horizon = new Date(now.getTime() + days * DAY_MS);
  const nextChange = utcOffsetPeriods(timeZone, horizon, days)[0]?.until;
  return { timeZone, horizon, ...(nextChange ? { nextChange } : {}), holdsUntil: nextChange ?? new Date(horizon.getTime() + days * DAY_MS) };
}

/**
 * The fwrules records whose time window the databases put in force: enabled rules of any
 * kind (filter, class;, provider;) with a Time, in key order. A Time that names no time
 * object is counted too: the event then fails or warns on its own.
 */
export function rulesWithTimeWindows(fwrules: Database): string[] {
  return Object.keys(fwrules)
    .filter((key) => {
      if (fwrules[key]?.type !== 'rule') return false;
      if ((propOf(fwrules, key, 'status') ?? 'enabled') === 'disabled') return false;
      return (propOf(fwrules, key, 'Time') ?? '').trim() !== '';
    })
    .sort();
}
