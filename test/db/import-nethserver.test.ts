import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandAllowExclusions, formatImportReport, importDatabase, migrateLegacyRecord, readDatabase } from '../../src/db/index.js';
import { removeTree } from '../templates/fixtures.js';

let root: string | undefined;
afterEach(() => {
  if (root) removeTree(root);
  root = undefined;
});
const newRoot = (): string => (root = mkdtempSync(join(tmpdir(), 'gatehouse-import-')));
const fates = (r: Awaited<ReturnType<typeof importDatabase>>) => r.fates.map((f) => [f.key, f.fate]);

describe('legacy forms are migrated as NethServer migrates them', () => {
  it('tc class Unit kbps becomes kbit', () => {
    expect(migrateLegacyRecord('tc', 'voip', { type: 'class', props: { Mark: '10', Unit: 'kbps' } })).toEqual({
      key: 'voip',
      record: { type: 'class', props: { Mark: '10', Unit: 'kbit' } },
      changes: ['Unit kbps -> kbit'],
    });
  });

  it("the spec's static route 8.8.4.4 with Mask 255.255.255.255 becomes 8.8.4.4/32", () => {
    const m = migrateLegacyRecord('routes', '8.8.4.4', { type: 'static', props: { Mask: '255.255.255.255', Router: '89.97.220.225', Description: 'My route' } });
    expect(m.key).toBe('8.8.4.4/32');
    expect(m.record.props).toEqual({ Router: '89.97.220.225', Description: 'My route' });
    expect(migrateLegacyRecord('routes', '10.1.0.0', { type: 'static', props: { Mask: '255.255.0.0', Router: '1.2.3.4' } }).key).toBe('10.1.0.0/16');
  });

  it('FwObjectNat local;NAME names the hosts record as host;NAME', () => {
    expect(migrateLegacyRecord('networks', 'eth1:0', { type: 'alias', props: { FwObjectNat: 'local;pc1,host;srv' } }).record.props['FwObjectNat']).toBe('host;pc1,host;srv');
  });

  it('priority;high and access private/public are migrated', () => {
    expect(migrateLegacyRecord('fwrules', '3', { type: 'rule', props: { Action: 'priority;high' } }).record.props['Action']).toBe('class;high');
    expect(migrateLegacyRecord('configuration', 'sshd', { type: 'service', props: { access: 'public' } }).record.props['access']).toBe('green,red');
  });

  it("a port forward's Allow exclusions become the networks they match", () => {
    expect(expandAllowExclusions('192.168.1.0/24!192.168.1.3,192.168.1.9')).toEqual([
      '192.168.1.0/31', '192.168.1.2', '192.168.1.4/30', '192.168.1.8', '192.168.1.10/31', '192.168.1.12/30', '192.168.1.16/28',
      '192.168.1.32/27', '192.168.1.64/26', '192.168.1.128/25',
    ]);
    const all = expandAllowExclusions('!10.2.10.4')!;
    expect(all).toHaveLength(32);
    expect(all).toContain('0.0.0.0/1'.replace('0.0.0.0/1', '128.0.0.0/1'));
    expect(all).toContain('10.2.10.5');
    expect(all).not.toContain('10.2.10.4');
    expect(expandAllowExclusions('10.0.0.0/8')).toBeUndefined();
  });
});

describe('db NAME import: every record has a fate, a refused one never blocks the others', () => {
  it('imports, migrates and refuses in one file, writing the usable records', async () => {
    const r = newRoot();
    const text = '# DO NOT MODIFY THIS FILE.\nhigh=class|Mark|2|MinInputRate|10\nvoip=class|Mark|10|Unit|kbps|MinOutputRate|500\nbad=class|Mark|99\n';
    const report = await importDatabase(r, 'tc', text, 'tc');
    expect(fates(report)).toEqual([['high', 'imported'], ['voip', 'migrated'], ['bad', 'refused']]);
    expect(formatImportReport(report)).toBe(
      'tc/high (tc:2): imported\n' +
        'tc/voip (tc:3): migrated: Unit kbps -> kbit\n' +
        "tc/bad (tc:4): refused: Mark: '99' is not valid (valid: a whole number from 1 to 63)\n" +
        'tc: e-smith file tc: 1 imported, 1 migrated, 1 refused\n',
    );
    const db = await readDatabase(r, 'tc');
    expect(Object.keys(db).sort()).toEqual(['high', 'low', 'voip']);
    expect(db['voip']?.props['Unit']).toBe('kbit');
  });

  it("a malformed prop nothing reads is kept with a warning (a green interface's gateway, a reservation's MacAddress)", async () => {
    const r = newRoot();
    const net = await importDatabase(r, 'networks', 'eth0=ethernet|bootproto|none|gateway|192.168.1.300|ipaddr|192.168.1.1|netmask|255.255.255.0|role|green\n', 'networks');
    expect(fates(net)).toEqual([['eth0', 'kept']]);
    expect(net.fates[0]!.detail[0]).toMatch(/^gateway: '192\.168\.1\.300' is not valid .*kept as it is: a gateway is read only on red interfaces$/);
    expect((await readDatabase(r, 'networks'))['eth0']?.props['gateway']).toBe('192.168.1.300');
    const hosts = await importDatabase(r, 'hosts', 'pc1=local|IpAddress|192.168.1.50|MacAddress|00:11:22:zz\n', 'hosts');
    expect(fates(hosts)).toEqual([['pc1', 'kept']]);
  });

  it('the same malformed gateway on a red interface is refused: it would be used', async () => {
    const r = newRoot();
    const net = await importDatabase(r, 'networks', 'eth1=ethernet|bootproto|none|gateway|1.2.3.300|ipaddr|1.2.3.4|netmask|255.255.255.0|role|red\n', 'networks');
    expect(fates(net)).toEqual([['eth1', 'refused']]);
  });

  it("'config show' text is imported as records, props and all (Policy=strict is not lost)", async () => {
    const r = newRoot();
    const report = await importDatabase(r, 'configuration', 'firewall=configuration\n    ExternalPing=disabled\n    Policy=strict\nsshd=service\n    TCPPort=22\n    access=green,red\n    status=enabled\n', '<stdin>');
    expect(report.format).toBe('show');
    expect(fates(report)).toEqual([['firewall', 'imported'], ['sshd', 'imported']]);
    const db = await readDatabase(r, 'configuration');
    expect(db['firewall']).toEqual({ type: 'configuration', props: { ExternalPing: 'disabled', Policy: 'strict' } });
  });

  it('text in neither format is refused line by line with the expected format, never turned into records', async () => {
    const r = newRoot();
    const report = await importDatabase(r, 'hosts', 'hello world\nweb=host|IpAddress|192.168.1.10\n', 'x');
    expect(fates(report)).toEqual([['(line 1)', 'refused'], ['web', 'imported']]);
    expect(report.fates[0]!.detail[0]).toMatch(/expected a NethServer e-smith database file .* or 'db NAME show' output/);
    expect(Object.keys(await readDatabase(r, 'hosts'))).toEqual(['web']);
    await expect(importDatabase(r, 'hosts', '[{"name":"a","type":"host"}]', 'x')).rejects.toThrow(/this is JSON, not e-smith text/);
  });

  it('--replace makes the database equal to the file; a refused key keeps its previous record', async () => {
    const r = newRoot();
    await importDatabase(r, 'hosts', 'a=host|IpAddress|10.0.0.1\nb=host|IpAddress|10.0.0.2\nc=host|IpAddress|10.0.0.3\n', 'old');
    const report = await importDatabase(r, 'hosts', 'a=host|IpAddress|10.0.0.9\nc=host|IpAddress|10.0.0.300\n', 'new', { replace: true });
    expect(fates(report)).toEqual([['a', 'imported'], ['c', 'refused'], ['b', 'deleted']]);
    const db = await readDatabase(r, 'hosts');
    expect(db).toEqual({ a: { type: 'host', props: { IpAddress: '10.0.0.9' } }, c: { type: 'host', props: { IpAddress: '10.0.0.3' } } });
  });
});
