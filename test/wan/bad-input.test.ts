/**
 * Multi-WAN records the databases show to be wrong: refused by `db` when the networks
 * database alone shows it (providers), and by the model in every case (records written by
 * hand, or wrong only against another database), so the event fails before anything is
 * applied; each message names the record.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Database, readDatabase, setProps, setRecord } from '../../src/db/index.js';
import { crossRecordProblems } from '../../src/db/validation.js';
import type { GatehouseError } from '../../src/errors/index.js';
import { buildModel } from '../../src/model/index.js';

const rec = (type: string, props: Record<string, string>) => ({ type, props });

function networks(extra: Database = {}): Database {
  return {
    eth0: rec('ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' }),
    eth1: rec('ethernet', { role: 'red', bootproto: 'none', ipaddr: '1.2.3.4', netmask: '255.255.255.0', gateway: '1.2.3.1' }),
    eth2: rec('ethernet', { role: 'red', bootproto: 'dhcp' }),
    ...extra,
  };
}

const build = (dbs: Record<string, Database>) => () => buildModel({ configuration: {}, ...dbs });

describe('multi-WAN bad input is refused, naming the record', () => {
  it('a provider on a missing interface', () => {
    expect(build({ networks: networks({ isp: rec('provider', { interface: 'eth9', weight: '1' }) }) })).toThrow(/networks\/isp\/interface.*interface 'eth9' does not exist|interface 'eth9' does not exist/);
  });

  it('a provider on a non-red interface', () => {
    expect(build({ networks: networks({ isp: rec('provider', { interface: 'eth0', weight: '1' }) }) })).toThrow(/has role green, not red/);
  });

  it('a weight that is not a positive whole number', () => {
    expect(build({ networks: networks({ isp: rec('provider', { interface: 'eth1', weight: '1.5' }) }) })).toThrow(/weight '1.5' is not a whole number|'1.5' is not valid/);
  });

  it('two providers on one interface', () => {
    expect(build({ networks: networks({ a: rec('provider', { interface: 'eth1' }), b: rec('provider', { interface: 'eth1' }) }) })).toThrow(/already belongs to provider 'a'/);
  });

  it('a 16th provider', () => {
    const extra: Database = {};
    for (let i = 0; i < 16; i++) {
      extra[`eth${10 + i}`] = rec('ethernet', { role: 'red', bootproto: 'dhcp' });
      extra[`p${String(i).padStart(2, '0')}`] = rec('provider', { interface: `eth${10 + i}` });
    }
    expect(build({ networks: networks(extra) })).toThrow(/16 providers are defined; at most 15/);
  });

  it('a static route whose Router is in no connected network', () => {
    expect(build({ networks: networks(), routes: { '10.0.0.0/8': rec('static', { Router: '172.16.0.1', Device: 'eth0' }) } })).toThrow(/Router 172\.16\.0\.1 is in no network connected to eth0/);
  });

  it('a divert rule naming a missing provider', () => {
    expect(
      build({ networks: networks({ isp: rec('provider', { interface: 'eth1' }) }), fwrules: { '1': rec('rule', { Src: '192.168.1.0/24', Dst: 'any', Service: 'any', Action: 'provider;nosuch', status: 'enabled' }) } }),
    ).toThrow(/refers to provider 'nosuch', which does not exist/);
  });

  it('a static route with a Metric takes effect: metric=N in the routes file', () => {
    const model = buildModel({ configuration: {}, networks: networks(), routes: { '10.0.0.0/8': rec('static', { Router: '192.168.1.254', Metric: '5' }) } });
    expect(model.multiwan.routes[0]!.rows[0]!.line).toBe('main\t10.0.0.0/8\t192.168.1.254\teth0\tmetric=5');
  });

  it('the spec examples are accepted: 8.8.4.4 with Mask, divert with Dst 0.0.0.0/0', () => {
    const model = buildModel({
      configuration: {},
      networks: networks({ myadsl: rec('provider', { interface: 'eth2', weight: '1' }) }),
      fwservices: { ssh: rec('fwservice', { Protocol: 'tcp', Ports: '22' }) },
      fwrules: { '1': rec('rule', { Src: '192.168.1.0/24', Dst: '0.0.0.0/0', Service: 'fwservice;ssh', Action: 'provider;myadsl', status: 'enabled', Position: '2' }) },
      routes: { '8.8.4.4': rec('static', { Mask: '255.255.255.255', Router: '1.2.3.9', Description: 'My route' }) },
    });
    expect(model.multiwan.routes[0]!.rows[0]!.line).toBe('main\t8.8.4.4/32\t1.2.3.9\teth1');
    expect(model.multiwan.divert[0]!.rows[0]!.line).toBe('MARK(0x10000/0xf0000)\t192.168.1.0/24\t-\ttcp\t22');
  });
});

describe('db refuses the provider problems the networks database alone shows', () => {
  const problems = (extra: Database, touched: string[]) => crossRecordProblems('networks', networks(extra), touched).map((p) => `${p.key}/${p.prop ?? ''}: ${p.message}`);

  it('a provider on a missing interface', () => {
    expect(problems({ isp: rec('provider', { interface: 'eth9' }) }, ['isp'])).toEqual(["isp/interface: interface 'eth9' does not exist"]);
  });

  it('a provider on a non-red interface', () => {
    expect(problems({ isp: rec('provider', { interface: 'eth0' }) }, ['isp'])).toEqual(["isp/interface: interface 'eth0' has role green, not red"]);
  });

  it('a second provider on one interface, blamed on the new one', () => {
    expect(problems({ a: rec('provider', { interface: 'eth1' }), b: rec('provider', { interface: 'eth1' }) }, ['a'])).toEqual(["a/interface: interface 'eth1' already belongs to provider 'b'"]);
  });

  it('a 16th provider', () => {
    const extra: Database = {};
    for (let i = 0; i < 16; i++) {
      extra[`eth${10 + i}`] = rec('ethernet', { role: 'red', bootproto: 'dhcp' });
      extra[`p${String(i).padStart(2, '0')}`] = rec('provider', { interface: `eth${10 + i}` });
    }
    expect(problems(extra, ['p15'])).toEqual(['p15/: 16 providers would exist; at most 15 fit the provider mark']);
    expect(problems(extra, ['eth10']), 'an unrelated write is not blamed').toEqual([]);
  });

  it('the interface of a provider losing its red role', () => {
    const db = networks({ isp: rec('provider', { interface: 'eth1' }) });
    db['eth1'] = rec('ethernet', { role: 'green', bootproto: 'dhcp' });
    expect(crossRecordProblems('networks', db, ['eth1']).map((p) => `${p.key}/${p.prop}: ${p.message}`)).toEqual(['eth1/role: provider isp uses this interface, which must stay a red interface']);
    db['eth1'] = rec('xdsl-disabled', { role: 'red' });
    expect(crossRecordProblems('networks', db, ['eth1']).map((p) => `${p.key}/${p.prop ?? ''}: ${p.message}`)).toEqual(['eth1/: provider isp uses this interface, which must stay a red interface']);
  });

  it('db set refuses the record and writes nothing; a good provider is taken', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gatehouse-wan-db-'));
    const refused = (write: Promise<void>) => write.then(() => 'written', (e: GatehouseError) => e.format());
    try {
      await setRecord(root, 'networks', 'eth1', 'ethernet', { role: 'red', bootproto: 'dhcp' });
      await setRecord(root, 'networks', 'eth0', 'ethernet', { role: 'green', bootproto: 'dhcp' });
      expect(await refused(setRecord(root, 'networks', 'isp', 'provider', { interface: 'eth0', weight: '1' }))).toMatch(/networks\/isp\/interface: interface 'eth0' has role green, not red/);
      expect(await refused(setRecord(root, 'networks', 'isp', 'provider', { interface: 'eth1', weight: '0' }))).toMatch(/networks\/isp\/weight/);
      expect(Object.keys(await readDatabase(root, 'networks')).sort()).toEqual(['eth0', 'eth1']);
      await setRecord(root, 'networks', 'isp', 'provider', { interface: 'eth1', weight: '2' });
      expect(await refused(setRecord(root, 'networks', 'isp2', 'provider', { interface: 'eth1' }))).toMatch(/already belongs to provider 'isp'/);
      expect(await refused(setProps(root, 'networks', 'eth1', { role: 'blue' }))).toMatch(/networks\/eth1\/role: provider isp uses this interface/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
