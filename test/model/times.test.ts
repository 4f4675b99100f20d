import { describe, expect, it } from 'vitest';
import { utcOffsetMinutes, utcWindows } from '../../src/model/index.js';

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
