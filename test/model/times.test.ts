import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { type OffsetPeriod, OFFSET_HORIZON_DAYS, buildModel, rulesWithTimeWindows, timeWindowsHorizon, utcOffsetMinutes, utcOffsetPeriods, utcWindows } from '../../src/model/index.js';

const times = (props: Record<string, string>) => ({ t: { type: 'time', props } });

describe('time objects become correct UTC windows', () => {
  it('a window inside one UTC day keeps its weekdays', () => {
    expect(utcWindows(times({ WeekDays: 'Mon,Fri', TimeStart: '08:00', TimeStop: '18:00' }), 't', 60)).toEqual([
      'utc&weekdays=Mon,Fri&timestart=07:00&timestop=17:00',
    ]);
  });

  it('a window that starts before local midnight in UTC moves part of it to the previous day', () => {
    // 00:30-06:00 Monday in Rome (UTC+1) is Sunday 23:30-24:00 and Monday 00:00-05:00 UTC.
    expect(utcWindows(times({ WeekDays: 'Mon', TimeStart: '00:30', TimeStop: '06:00' }), 't', 60)).toEqual([
      'utc&weekdays=Sun&timestart=23:30&timestop=23:59:59',
      'utc&weekdays=Mon&timestart=00:00&timestop=05:00',
    ]);
  });

  it('a window that wraps local midnight is split and its second half moves to the next day', () => {
    expect(utcWindows(times({ WeekDays: 'Sun', TimeStart: '22:00', TimeStop: '06:00' }), 't', 0)).toEqual([
      'utc&weekdays=Sun&timestart=22:00&timestop=23:59:59',
      'utc&weekdays=Mon&timestart=00:00&timestop=06:00',
    ]);
  });

  it('a zone west of UTC shifts late windows to the next day', () => {
    expect(utcWindows(times({ WeekDays: 'Sat', TimeStart: '20:00', TimeStop: '23:00' }), 't', -300)).toEqual([
      'utc&weekdays=Sun&timestart=01:00&timestop=04:00',
    ]);
  });

  it('weekdays alone cover the whole local day', () => {
    expect(utcWindows(times({ WeekDays: 'Tue' }), 't', 120)).toEqual([
      'utc&weekdays=Mon&timestart=22:00&timestop=23:59:59',
      'utc&weekdays=Tue&timestart=00:00&timestop=22:00',
    ]);
  });

  it('an empty time object restricts nothing', () => {
    expect(utcWindows(times({}), 't', 60)).toEqual(['-']);
  });

  it('the offset follows daylight saving time', () => {
    expect(utcOffsetMinutes('Europe/Rome', new Date('2026-01-15T12:00:00Z'))).toBe(60);
    expect(utcOffsetMinutes('Europe/Rome', new Date('2026-07-15T12:00:00Z'))).toBe(120);
    expect(utcOffsetMinutes('America/New_York', new Date('2026-01-15T12:00:00Z'))).toBe(-300);
  });

  it('a malformed time names the record and prop', () => {
    expect(() => utcWindows(times({ TimeStart: '25:00' }), 't', 0)).toThrow(/'25:00' is not a time of day/);
  });
});

describe('time windows across a daylight-saving change', () => {
  const office = times({ WeekDays: 'Mon,Tue,Wed,Thu,Fri', TimeStart: '08:00', TimeStop: '18:00' });

  it('a zone with daylight saving time has one period per offset, split at each change, over the next 400 days', () => {
    // Europe/Rome: CET (+60) until the last Sunday of March 01:00 UTC, CEST (+120) until the last Sunday of October.
    expect(utcOffsetPeriods('Europe/Rome', new Date('2026-01-15T12:00:00Z'))).toEqual([
      { offsetMinutes: 60, until: new Date('2026-03-29T01:00:00Z') },
      { offsetMinutes: 120, from: new Date('2026-03-29T01:00:00Z'), until: new Date('2026-10-25T01:00:00Z') },
      { offsetMinutes: 60, from: new Date('2026-10-25T01:00:00Z') },
    ]);
  });

  it('a zone without daylight saving time, and UTC, have one open period', () => {
    expect(utcOffsetPeriods('Asia/Tokyo', new Date('2026-01-15T12:00:00Z'))).toEqual([{ offsetMinutes: 540 }]);
    expect(utcOffsetPeriods('UTC', new Date('2026-01-15T12:00:00Z'))).toEqual([{ offsetMinutes: 0 }]);
  });

  it('a change on a half hour is found to the minute (Australia/Lord_Howe)', () => {
    const periods = utcOffsetPeriods('Australia/Lord_Howe', new Date('2026-01-15T12:00:00Z'));
    expect(periods.map((p) => p.offsetMinutes)).toEqual([660, 630, 660]);
    expect(periods[1]!.until).toEqual(new Date('2026-10-03T15:30:00Z'));
  });

  it('each offset gets its own windows, bounded by datestart and datestop at the change (both inclusive, to the second)', () => {
    const periods = utcOffsetPeriods('Europe/Rome', new Date('2026-01-15T12:00:00Z'));
    expect(utcWindows(office, 't', periods)).toEqual([
      'utc&weekdays=Mon,Tue,Wed,Thu,Fri&timestart=07:00&timestop=17:00&datestop=2026-03-29T00:59:59',
      'utc&weekdays=Mon,Tue,Wed,Thu,Fri&timestart=06:00&timestop=16:00&datestart=2026-03-29T01:00:00&datestop=2026-10-25T00:59:59',
      'utc&weekdays=Mon,Tue,Wed,Thu,Fri&timestart=07:00&timestop=17:00&datestart=2026-10-25T01:00:00',
    ]);
  });

  it('a night window over the change night still covers 22:00 to 06:00 local time', () => {
    // Saturday 24 October 2026 22:00 CEST is 20:00 UTC; Sunday 25 October 06:00 CET is 05:00 UTC.
    const periods = utcOffsetPeriods('Europe/Rome', new Date('2026-07-01T12:00:00Z'));
    const columns = utcWindows(times({ TimeStart: '22:00', TimeStop: '06:00' }), 't', periods);
    expect(columns.slice(0, 4)).toEqual([
      'utc&timestart=20:00&timestop=23:59:59&datestop=2026-10-25T00:59:59',
      'utc&timestart=00:00&timestop=04:00&datestop=2026-10-25T00:59:59',
      'utc&timestart=21:00&timestop=23:59:59&datestart=2026-10-25T01:00:00&datestop=2027-03-28T00:59:59',
      'utc&timestart=00:00&timestop=05:00&datestart=2026-10-25T01:00:00&datestop=2027-03-28T00:59:59',
    ]);
  });

  it('one period is the plain windows, without dates (a zone without daylight saving time compiles as before)', () => {
    expect(utcWindows(office, 't', [{ offsetMinutes: 540 }])).toEqual([
      'utc&weekdays=Mon,Tue,Wed,Thu,Sun&timestart=23:00&timestop=23:59:59',
      'utc&weekdays=Mon,Tue,Wed,Thu,Fri&timestart=00:00&timestop=09:00',
    ]);
    expect(utcWindows(office, 't', [{ offsetMinutes: 540 }])).toEqual(utcWindows(office, 't', 540));
  });

  it('a rule with a time window in Europe/Rome holds in both offsets of the year; in Asia/Tokyo it is one line', () => {
    const dbs: Record<string, Database> = {
      networks: {
        eth0: { type: 'ethernet', props: { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' } },
        eth1: { type: 'ethernet', props: { role: 'red', bootproto: 'dhcp' } },
      },
      fwtimes: { t: { type: 'time', props: { WeekDays: 'Mon', TimeStart: '09:00', TimeStop: '10:00' } } },
      fwrules: { '1': { type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Service: 'any', Action: 'drop', Time: 'time;t' } } },
    };
    const lines = (timeZone: string) =>
      buildModel(dbs, { timeZone, now: new Date('2026-01-15T12:00:00Z') }).v4.rules.rules.flatMap((g) => g.rows.map((r) => r.cells.at(-1)));
    expect(lines('Europe/Rome')).toEqual([
      'utc&weekdays=Mon&timestart=08:00&timestop=09:00&datestop=2026-03-29T00:59:59',
      'utc&weekdays=Mon&timestart=07:00&timestop=08:00&datestart=2026-03-29T01:00:00&datestop=2026-10-25T00:59:59',
      'utc&weekdays=Mon&timestart=08:00&timestop=09:00&datestart=2026-10-25T01:00:00',
    ]);
    expect(lines('Asia/Tokyo')).toEqual(['utc&weekdays=Mon&timestart=00:00&timestop=01:00']);
  });
});

describe('how long time windows hold past the 400-day horizon', () => {
  const DAY = 86_400_000;

  it('Europe/Rome compiled on 15 January 2026: written up to 19 February 2027, right until the change of 28 March 2027', () => {
    const now = new Date('2026-01-15T12:00:00Z');
    expect(timeWindowsHorizon('Europe/Rome', now)).toEqual({
      timeZone: 'Europe/Rome',
      horizon: new Date('2027-02-19T12:00:00Z'),
      nextChange: new Date('2027-03-28T01:00:00Z'),
      holdsUntil: new Date('2027-03-28T01:00:00Z'),
    });
  });

  it('a zone without changes holds until the end of the span looked at past the horizon', () => {
    const now = new Date('2026-01-15T12:00:00Z');
    const horizon = new Date(now.getTime() + OFFSET_HORIZON_DAYS * DAY);
    expect(timeWindowsHorizon('Asia/Tokyo', now)).toEqual({ timeZone: 'Asia/Tokyo', horizon, holdsUntil: new Date(horizon.getTime() + OFFSET_HORIZON_DAYS * DAY) });
  });

  /** The offset the columns written at `now` use at `at`: the period that covers it. */
  const columnsOffset = (periods: OffsetPeriod[], at: Date): number =>
    periods.find((p) => (p.from === undefined || p.from <= at) && (p.until === undefined || at < p.until))!.offsetMinutes;

  // Compiled at 16 moments over two years, in zones north and south, east and west, one on a half hour.
  const moments = Array.from({ length: 16 }, (_, i) => new Date(Date.UTC(2026, 0, 3, 7, 13) + i * 47.3 * DAY));
  for (const zone of ['Europe/Rome', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago']) {
    it(`${zone}: the columns are right at every moment until holdsUntil, and wrong from it`, () => {
      for (const now of moments) {
        const periods = utcOffsetPeriods(zone, now);
        const hold = timeWindowsHorizon(zone, now);
        expect(hold.nextChange, `${zone} from ${now.toISOString()}`).toBeDefined();
        expect(hold.holdsUntil.getTime()).toBeGreaterThan(hold.horizon.getTime());
        // Every five days, and a minute either side of each change the columns know of.
        const checks: Date[] = [];
        for (let t = now.getTime(); t < hold.holdsUntil.getTime(); t += 5 * DAY) checks.push(new Date(t));
        for (const p of periods) if (p.until) checks.push(new Date(p.until.getTime() - 60_000), p.until, new Date(p.until.getTime() + 60_000));
        checks.push(new Date(hold.holdsUntil.getTime() - 60_000));
        for (const at of checks) expect(columnsOffset(periods, at), `${zone} compiled ${now.toISOString()}, at ${at.toISOString()}`).toBe(utcOffsetMinutes(zone, at));
        expect(columnsOffset(periods, hold.holdsUntil), `${zone} compiled ${now.toISOString()}: wrong from ${hold.holdsUntil.toISOString()}`).not.toBe(utcOffsetMinutes(zone, hold.holdsUntil));
      }
    });
  }

  it('the rules that put a window in force: enabled rules of every kind with a Time', () => {
    const rule = (props: Record<string, string>) => ({ type: 'rule', props: { Src: 'any', Dst: 'any', Action: 'accept', ...props } });
    expect(
      rulesWithTimeWindows({
        '10': rule({ Time: 'time;office' }),
        '2': rule({ Action: 'class;slow', Time: 'time;night' }),
        '3': rule({ Action: 'provider;isp2', Time: 'time;night', status: 'enabled' }),
        '4': rule({ Time: 'time;office', status: 'disabled' }),
        '5': rule({}),
        '6': rule({ Time: ' ' }),
        office: { type: 'time', props: { Time: 'time;x' } },
      }),
    ).toEqual(['10', '2', '3']);
  });
});
