/**
 * How long a plan's time windows stay right, and when to renew them.
 *
 * Time windows are compiled to UTC TIME columns, one set per offset of the next 400 days
 * (src/model/times.ts); past that horizon the last offset holds until the zone's next
 * change, and from then on every window is off by the change (an hour for daylight saving
 * time). The event that makes a plan from the databases records how long its columns hold
 * (PlanInputs.timeWindows, in plan.json); `gatehouse renew-time-windows` reads the running
 * plan's record and runs firewall-adjust before it runs out, and `gatehouse status` shows it.
 * Everything here but readPlanTimeWindows is pure: "now" is an argument.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planDir, readState } from './store.js';
import { MANIFEST_FILE, type TimeWindowsRecord } from './types.js';

const DAY_MS = 86_400_000;

/** Renew this many days before the windows run out by default: a month of daily tries. */
export const RENEW_WITHIN_DAYS = 30;

/** The record of a plan made at a moment: `rules` with a time window, and how long they hold (Dates as ISO text). */
export function timeWindowsRecord(rules: readonly string[], hold?: { timeZone: string; horizon: Date; nextChange?: Date; holdsUntil: Date }): TimeWindowsRecord {
  if (rules.length === 0 || hold === undefined) return { rules: [...rules] };
  return {
    rules: [...rules],
    timeZone: hold.timeZone,
    horizon: hold.horizon.toISOString(),
    ...(hold.nextChange ? { nextChange: hold.nextChange.toISOString() } : {}),
    holdsUntil: hold.holdsUntil.toISOString(),
  };
}

/** A record as read from plan.json: undefined when there is none; an Error saying what is wrong when it is damaged. */
export function parseTimeWindowsRecord(value: unknown): TimeWindowsRecord | undefined | Error {
  if (value === undefined) return undefined;
  const bad = (what: string) => new Error(`its timeWindows record ${what}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('is not an object');
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v['rules']) || !v['rules'].every((r) => typeof r === 'string')) return bad('has no list of rules');
  const rules = v['rules'] as string[];
  if (rules.length === 0) return { rules };
  const date = (name: string): string | undefined | Error => {
    const text = v[name];
    if (text === undefined) return undefined;
    return typeof text === 'string' && !Number.isNaN(Date.parse(text)) ? text : bad(`has a ${name} that is not a date`);
  };
  if (typeof v['timeZone'] !== 'string') return bad('names no time zone');
  const horizon = date('horizon');
  const nextChange = date('nextChange');
  const holdsUntil = date('holdsUntil');
  for (const d of [horizon, nextChange, holdsUntil]) if (d instanceof Error) return d;
  if (holdsUntil === undefined || horizon === undefined) return bad('has no horizon or end');
  return { rules, timeZone: v['timeZone'], horizon: horizon as string, ...(nextChange ? { nextChange: nextChange as string } : {}), holdsUntil: holdsUntil as string };
}

/** The record in a plan directory's plan.json (see parseTimeWindowsRecord); an Error when plan.json cannot be read. */
export async function readPlanTimeWindows(dir: string): Promise<TimeWindowsRecord | undefined | Error> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'));
  } catch (e) {
    return new Error(`cannot read ${join(dir, MANIFEST_FILE)}: ${(e as Error).message}`);
  }
  const inputs = (manifest as { inputs?: unknown } | null)?.inputs;
  return parseTimeWindowsRecord(inputs !== null && typeof inputs === 'object' ? (inputs as Record<string, unknown>)['timeWindows'] : undefined);
}

/** The plan in force (the store's `current` slot): its id and directory; none before the first apply. */
export async function runningPlanSlot(root: string): Promise<{ id: string; dir: string } | undefined> {
  const id = (await readState(root)).slots.current;
  return id === undefined ? undefined : { id, dir: planDir(root, id) };
}

/** The directory of the plan in force, as `gatehouse status` reads it; none before the first apply. */
export async function runningPlanDir(root: string): Promise<string | undefined> {
  return (await runningPlanSlot(root))?.dir;
}

/** What the running plan is, as far as renewing goes. */
export type RunningPlan =
  | { state: 'none' }
  | { state: 'rejected' }
  | { state: 'stopped' }
  | { state: 'running'; record: TimeWindowsRecord | undefined | Error; id?: string };

export interface RenewalDecision {
  /** Run firewall-adjust now. */
  renew: boolean;
  kind: 'no-plan' | 'rejected' | 'stopped' | 'no-record' | 'damaged-record' | 'no-time-windows' | 'holds' | 'due' | 'ran-out' | 'zone-changed';
  /** One line for the log and the journal. */
  why: string;
}

/** "Europe/Rome changes its UTC offset then", or why there is no change to name. */
function untilText(r: TimeWindowsRecord): string {
  return r.nextChange
    ? `${r.holdsUntil} (${r.timeZone} changes its UTC offset then)`
    : `${r.holdsUntil} (${r.timeZone} has no offset change until then; it is looked at again then)`;
}

function ruleList(r: TimeWindowsRecord): string {
  const shown = r.rules.slice(0, 5).map((k) => `fwrules/${k}`).join(', ');
  return r.rules.length > 5 ? `${shown} and ${r.rules.length - 5} more` : shown;
}

/**
 * Whether to renew the running plan's time windows at `now`: only a running plan made by
 * an event (it has a record) whose windows run out within `withinDays` days (or already
 * have), or were written for another zone than `timeZone` (the zone an event would convert
 * from now: the machine's moved, with no event since). A stopped or closed firewall is left
 * as it is: renewing would start it.
 */
export function renewalDecision(plan: RunningPlan, now: Date, withinDays: number = RENEW_WITHIN_DAYS, timeZone?: string): RenewalDecision {
  if (plan.state === 'none') return { renew: false, kind: 'no-plan', why: 'no plan has been applied: nothing to renew' };
  if (plan.state === 'rejected') {
    return { renew: false, kind: 'rejected', why: 'plan/current was rolled back unconfirmed and the firewall is closed: nothing renewed (renewing would open it; run firewall-adjust to load a plan)' };
  }
  if (plan.state === 'stopped') return { renew: false, kind: 'stopped', why: 'the firewall is stopped: nothing renewed (renewing would start it); the windows are looked at again once it runs' };
  const r = plan.record;
  if (r instanceof Error) return { renew: false, kind: 'damaged-record', why: `plan/current: ${r.message}: nothing renewed; signal-event firewall-adjust writes a new plan` };
  if (r === undefined) {
    return {
      renew: false,
      kind: 'no-record',
      why: 'plan/current does not record how long its time windows hold (compiled from files by hand, or by an older Gatehouse): nothing renewed; signal-event firewall-adjust makes a plan that does',
    };
  }
  if (r.rules.length === 0 || r.holdsUntil === undefined) return { renew: false, kind: 'no-time-windows', why: 'no rule has a time window: nothing to renew' };
  if (timeZone !== undefined && r.timeZone !== undefined && timeZone !== r.timeZone) {
    return {
      renew: true,
      kind: 'zone-changed',
      why: `the time windows of ${ruleList(r)} were written for ${r.timeZone}, but the time zone is now ${timeZone}: they are off by the difference; renewing them with firewall-adjust`,
    };
  }
  const left = Date.parse(r.holdsUntil) - now.getTime();
  if (left <= 0) {
    return { renew: true, kind: 'ran-out', why: `the time windows of ${ruleList(r)} ran out at ${untilText(r)}: they are off by the change since; renewing them with firewall-adjust` };
  }
  if (left <= withinDays * DAY_MS) {
    return { renew: true, kind: 'due', why: `the time windows of ${ruleList(r)} hold until ${untilText(r)}, within ${withinDays} days: renewing them with firewall-adjust` };
  }
  const from = new Date(Date.parse(r.holdsUntil) - withinDays * DAY_MS).toISOString();
  return { renew: false, kind: 'holds', why: `the time windows hold until ${untilText(r)}: nothing to renew before ${from}` };
}

/**
 * `gatehouse status`'s lines about the running plan's time windows: none without time
 * windows or without a record; a `warning:` line when they run out within `withinDays` days or have run out,
 * or were written for another zone than `timeZone` (the one an event would use now).
 */
export function describeTimeWindows(record: TimeWindowsRecord | undefined | Error, now: Date, withinDays: number = RENEW_WITHIN_DAYS, timeZone?: string, stopped = false): string[] {
  if (record instanceof Error) return [`warning: time windows: plan/current: ${record.message}`];
  // No record: a plan compiled by hand (or by an older Gatehouse); renew-time-windows says so.
  if (record === undefined || record.rules.length === 0 || record.holdsUntil === undefined) return [];
  const left = Date.parse(record.holdsUntil) - now.getTime();
  const line = `time windows: ${record.rules.length} rule${record.rules.length === 1 ? '' : 's'} (${ruleList(record)}), written for ${record.timeZone} up to ${record.horizon}; they hold until ${untilText(record)}`;
  // The stopped ruleset has no time windows, and renewing would start the firewall: nothing to warn of until it runs.
  if (stopped) return [`${line}; not in force while the firewall is stopped (gatehouse renew-time-windows looks at them again once it runs)`];
  if (timeZone !== undefined && record.timeZone !== undefined && timeZone !== record.timeZone) {
    return [line, `warning: time windows were written for ${record.timeZone}, but the time zone is now ${timeZone}: they are off by the difference; gatehouse renew-time-windows (its daily timer) or signal-event firewall-adjust renews them`];
  }
  if (left <= 0) return [line, `warning: time windows ran out ${Math.ceil(-left / DAY_MS)} days ago: they are off by ${record.timeZone}'s offset change; run signal-event firewall-adjust (or gatehouse renew-time-windows)`];
  if (left <= withinDays * DAY_MS) return [line, `warning: time windows run out in ${Math.ceil(left / DAY_MS)} days: gatehouse renew-time-windows (its daily timer) or signal-event firewall-adjust renews them`];
  return [line];
}
