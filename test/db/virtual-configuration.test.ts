import { beforeAll, afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { virtualConfigurationRecords, withVirtualConfiguration } from '../../src/db/index.js';
import { buildModel } from '../../src/model/index.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';
import { removeTree } from '../templates/fixtures.js';

describe("NethServer's read-only configuration keys", () => {
  it('SystemName and DomainName come from the host name split at the first dot; TimeZone is the clock zone', () => {
    expect(virtualConfigurationRecords('gw.office.example.com', 'Europe/Rome')).toEqual({
      SystemName: { type: 'gw', props: {} },
      DomainName: { type: 'office.example.com', props: {} },
      TimeZone: { type: 'Europe/Rome', props: {} },
    });
    expect(virtualConfigurationRecords('gw', 'UTC')).toEqual({ SystemName: { type: 'gw', props: {} }, TimeZone: { type: 'UTC', props: {} } });
  });

  it("the machine's time zone is looked up only when TimeZone is read", () => {
    let lookups = 0;
    const db = withVirtualConfiguration({}, virtualConfigurationRecords('gw', () => (lookups++, 'Asia/Tokyo')));
    expect(Object.keys(db).sort()).toEqual(['SystemName', 'TimeZone']);
    expect(lookups).toBe(0);
    expect(db['TimeZone']).toEqual({ type: 'Asia/Tokyo', props: {} });
    expect(db['TimeZone']?.type).toBe('Asia/Tokyo');
    expect(lookups).toBe(1);
  });

  it('a stored record (migrated or set by hand) wins over the machine value', () => {
    const db = withVirtualConfiguration({ TimeZone: { type: 'Europe/Rome', props: {} } }, virtualConfigurationRecords('a.b', 'UTC'));
    expect(db['TimeZone']?.type).toBe('Europe/Rome');
    expect(db['SystemName']?.type).toBe('a');
  });

  it('a stored TimeZone is the zone time objects are converted from (nothing stored is ignored)', () => {
    const networks = {
      eth0: { type: 'ethernet', props: { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' } },
      eth1: { type: 'ethernet', props: { role: 'red', bootproto: 'dhcp' } },
    };
    const dbs = {
      networks,
      fwtimes: { office: { type: 'time', props: { TimeStart: '09:00', TimeStop: '18:00', WeekDays: 'Mon' } } },
      fwrules: { '1': { type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Action: 'accept', Time: 'time;office', status: 'enabled' } } },
    };
    const now = new Date('2026-01-12T12:00:00Z');
    const rome = JSON.stringify(buildModel({ ...dbs, configuration: { TimeZone: { type: 'Europe/Rome', props: {} } } }, { now }).v4.rules);
    const utc = JSON.stringify(buildModel({ ...dbs, configuration: { TimeZone: { type: 'UTC', props: {} } } }, { now }).v4.rules);
    expect(rome).toContain('timestart=08:00');
    expect(utc).toContain('timestart=09:00');
  });
});

describe('config get SystemName, DomainName, TimeZone', () => {
  beforeAll(buildProjectIfStale, 180_000);
  let root: string | undefined;
  afterEach(() => {
    if (root) removeTree(root);
    root = undefined;
  });
  const config = (r: string, ...args: string[]) =>
    spawnSync(process.execPath, [join(projectDir, 'bin/config.js'), '--root', r, ...args], { encoding: 'utf8', env: { ...process.env, GATEHOUSE_ROOT: '', TZ: 'Europe/Rome' } });

  it('print the machine values, as NethServer does', () => {
    root = mkdtempSync(join(tmpdir(), 'gatehouse-virtual-'));
    const host = hostname();
    const dot = host.indexOf('.');
    expect(config(root, 'get', 'SystemName').stdout).toBe(`${dot < 0 ? host : host.slice(0, dot)}\n`);
    expect(config(root, 'get', 'TimeZone').stdout).toBe('Europe/Rome\n');
    const domain = config(root, 'get', 'DomainName');
    expect(domain.status).toBe(dot < 0 ? 1 : 0);
    expect(config(root, 'show', 'TimeZone').stdout).toBe('TimeZone=Europe/Rome\n');
  });

  it('a value set with config set is printed instead', () => {
    root = mkdtempSync(join(tmpdir(), 'gatehouse-virtual-'));
    expect(config(root, 'set', 'SystemName', 'firewall').status).toBe(0);
    expect(config(root, 'get', 'SystemName').stdout).toBe('firewall\n');
  });
});
