/**
 * The record of how long a plan's time windows hold, and the renewal decision on it, with
 * "now" as an input: due, not due, run out, no time windows, no record, a damaged record,
 * and a firewall that is stopped, closed or never applied.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { timeWindowsHorizon } from '../../src/model/index.js';
import { type RunningPlan, type TimeWindowsRecord, describeTimeWindows, parseTimeWindowsRecord, readPlanTimeWindows, renewalDecision, timeWindowsRecord } from '../../src/plan/index.js';

const compiled = new Date('2026-01-15T12:00:00Z');
const rome = timeWindowsRecord(['5', '7'], timeWindowsHorizon('Europe/Rome', compiled));
const DAY = 86_400_000;
const before = (days: number) => new Date(Date.parse('2027-03-28T01:00:00Z') - days * DAY);

describe('the record', () => {
  it('names the rules, the zone, the horizon and the change past it, as ISO text', () => {
    expect(rome).toEqual({
      rules: ['5', '7'],
      timeZone: 'Europe/Rome',
      horizon: '2027-02-19T12:00:00.000Z',
      nextChange: '2027-03-28T01:00:00.000Z',
      holdsUntil: '2027-03-28T01:00:00.000Z',
    });
    expect(timeWindowsRecord([])).toEqual({ rules: [] });
  });

  it('reads back what it wrote; a damaged one is an error that says what is wrong', () => {
    expect(parseTimeWindowsRecord(JSON.parse(JSON.stringify(rome)))).toEqual(rome);
    expect(parseTimeWindowsRecord({ rules: [] })).toEqual({ rules: [] });
    expect(parseTimeWindowsRecord(undefined)).toBeUndefined();
    expect(String(parseTimeWindowsRecord('x'))).toContain('is not an object');
    expect(String(parseTimeWindowsRecord({ ...rome, holdsUntil: 'soon' }))).toContain('holdsUntil that is not a date');
    expect(String(parseTimeWindowsRecord({ rules: ['5'] }))).toContain('names no time zone');
  });

  it('is read from a plan directory plan.json (inputs.timeWindows)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-tw-'));
    try {
      expect(await readPlanTimeWindows(dir)).toBeInstanceOf(Error);
      await writeFile(join(dir, 'plan.json'), JSON.stringify({ format: 1, parts: {}, inputs: {}, sha256: {} }));
      expect(await readPlanTimeWindows(dir)).toBeUndefined();
      await writeFile(join(dir, 'plan.json'), JSON.stringify({ format: 1, parts: {}, inputs: { timeWindows: rome }, sha256: {} }));
      expect(await readPlanTimeWindows(dir)).toEqual(rome);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the renewal decision', () => {
  const running = (record: TimeWindowsRecord | undefined | Error): RunningPlan => ({ state: 'running', record });

  it('not due more than 30 days before the change: says until when, and from when it will act', () => {
    const d = renewalDecision(running(rome), before(31));
    expect(d).toMatchObject({ renew: false, kind: 'holds' });
    expect(d.why).toBe('the time windows hold until 2027-03-28T01:00:00.000Z (Europe/Rome changes its UTC offset then): nothing to renew before 2027-02-26T01:00:00.000Z');
  });

  it('due within 30 days (and within what --within says), naming the rules', () => {
    const d = renewalDecision(running(rome), before(30));
    expect(d).toMatchObject({ renew: true, kind: 'due' });
    expect(d.why).toContain('the time windows of fwrules/5, fwrules/7 hold until 2027-03-28T01:00:00.000Z');
    expect(d.why).toContain('within 30 days: renewing them with firewall-adjust');
    expect(renewalDecision(running(rome), before(31), 60)).toMatchObject({ renew: true, kind: 'due' });
    expect(renewalDecision(running(rome), before(1), 0)).toMatchObject({ renew: false, kind: 'holds' });
  });

  it('run out at the change (the columns are off from that second): renews', () => {
    expect(renewalDecision(running(rome), new Date('2027-03-28T01:00:00Z'))).toMatchObject({ renew: true, kind: 'ran-out' });
    expect(renewalDecision(running(rome), new Date('2028-01-01T00:00:00Z')).why).toContain('ran out at 2027-03-28T01:00:00.000Z');
  });

  it('a zone without changes: holds until the end of the span looked at, then looks again', () => {
    const tokyo = timeWindowsRecord(['5'], timeWindowsHorizon('Asia/Tokyo', compiled));
    const d = renewalDecision(running(tokyo), compiled);
    expect(d).toMatchObject({ renew: false, kind: 'holds' });
    expect(d.why).toContain('Asia/Tokyo has no offset change until then');
    expect(renewalDecision(running(tokyo), new Date(Date.parse(tokyo.holdsUntil!) - DAY))).toMatchObject({ renew: true, kind: 'due' });
  });

  it('no time windows, no record, a damaged record: nothing done, each saying why', () => {
    expect(renewalDecision(running({ rules: [] }), compiled)).toEqual({ renew: false, kind: 'no-time-windows', why: 'no rule has a time window: nothing to renew' });
    const none = renewalDecision(running(undefined), compiled);
    expect(none).toMatchObject({ renew: false, kind: 'no-record' });
    expect(none.why).toContain('signal-event firewall-adjust makes a plan that does');
    expect(renewalDecision(running(new Error('its timeWindows record is not an object')), compiled)).toMatchObject({ renew: false, kind: 'damaged-record' });
  });

  it('a firewall never applied, stopped, or closed after an unconfirmed apply is left as it is, even when its windows ran out', () => {
    const late = new Date('2030-01-01T00:00:00Z');
    expect(renewalDecision({ state: 'none' }, late)).toMatchObject({ renew: false, kind: 'no-plan' });
    expect(renewalDecision({ state: 'stopped' }, late)).toMatchObject({ renew: false, kind: 'stopped' });
    expect(renewalDecision({ state: 'rejected' }, late)).toMatchObject({ renew: false, kind: 'rejected' });
  });
});

describe('what status shows', () => {
  it('until when they hold; a warning within 30 days and once they ran out; nothing without time windows or a record', () => {
    expect(describeTimeWindows(rome, before(40))).toEqual([
      'time windows: 2 rules (fwrules/5, fwrules/7), written for Europe/Rome up to 2027-02-19T12:00:00.000Z; they hold until 2027-03-28T01:00:00.000Z (Europe/Rome changes its UTC offset then)',
    ]);
    expect(describeTimeWindows(rome, before(10))[1]).toBe(
      'warning: time windows run out in 10 days: gatehouse renew-time-windows (its daily timer) or signal-event firewall-adjust renews them',
    );
    expect(describeTimeWindows(rome, before(-3))[1]).toContain("warning: time windows ran out 3 days ago: they are off by Europe/Rome's offset change");
    // Stopped: one line, no warning (the stopped ruleset has no windows; the renewal leaves a stopped firewall alone).
    const stopped = describeTimeWindows(rome, before(-3), undefined, undefined, true);
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatch(/; not in force while the firewall is stopped \(gatehouse renew-time-windows looks at them again once it runs\)$/);
    expect(describeTimeWindows({ rules: [] }, compiled)).toEqual([]);
    expect(describeTimeWindows(undefined, compiled)).toEqual([]);
    expect(describeTimeWindows(new Error('its timeWindows record is not an object'), compiled)).toEqual(['warning: time windows: plan/current: its timeWindows record is not an object']);
  });
});

describe('the renewal decision, against the zone an event would use now', () => {
  const running: RunningPlan = { state: 'running', record: rome };
  it('the same zone: as without one; another zone (the machine moved, no event since): renew at once, naming both', () => {
    expect(renewalDecision(running, before(31), 30, 'Europe/Rome')).toMatchObject({ renew: false, kind: 'holds' });
    const d = renewalDecision(running, before(300), 30, 'America/New_York');
    expect(d).toMatchObject({ renew: true, kind: 'zone-changed' });
    expect(d.why).toBe('the time windows of fwrules/5, fwrules/7 were written for Europe/Rome, but the time zone is now America/New_York: they are off by the difference; renewing them with firewall-adjust');
    expect(describeTimeWindows(rome, before(300), 30, 'Europe/Rome')).toHaveLength(1);
    expect(describeTimeWindows(rome, before(300), 30, 'America/New_York')[1]).toBe(
      'warning: time windows were written for Europe/Rome, but the time zone is now America/New_York: they are off by the difference; gatehouse renew-time-windows (its daily timer) or signal-event firewall-adjust renews them',
    );
    // Stopped or closed stays so whatever the zone.
    expect(renewalDecision({ state: 'stopped' }, before(300), 30, 'America/New_York').renew).toBe(false);
  });
});
