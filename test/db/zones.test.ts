/**
 * Zone names never collide: custom roles and zone records become zones of their first 5
 * characters, so `trusted` and `trustless` would both be `trust` (a rule for one would let
 * the other through), and a role `net` or `orangutan` would join the internet or the DMZ.
 * db refuses such a write with a suggestion; the model refuses the same records written by
 * hand, with the same message.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, readDatabase, setProps, setRecord, setRecords } from '../../src/db/index.js';
import { GatehouseError, describeError } from '../../src/errors/index.js';
import { buildModel } from '../../src/model/index.js';
import { Roots } from './run-db.js';

const roots = new Roots();
afterAll(() => roots.cleanup());

const iface = (role: string, n: number) => ({ type: 'ethernet', props: { role, bootproto: 'none', ipaddr: `10.0.${n}.1`, netmask: '255.255.255.0' } });

async function refusal(write: () => Promise<unknown>): Promise<string> {
  try {
    await write();
  } catch (e) {
    if (e instanceof GatehouseError) return e.format();
    throw e;
  }
  throw new Error('the write was accepted');
}

function modelRefusal(networks: Database): string {
  try {
    buildModel({ networks }, { timeZone: 'UTC' });
  } catch (e) {
    return describeError(e);
  }
  throw new Error('the model accepted the networks');
}

describe('db refuses a role or zone record whose zone clashes, with a suggestion', () => {
  it('a second custom role cut to the same 5 characters is refused; the first stays', async () => {
    const root = await roots.make();
    await setRecord(root, 'networks', 'eth2', 'ethernet', iface('trusted', 2).props);
    expect(await refusal(() => setRecord(root, 'networks', 'eth3', 'ethernet', iface('trustless', 3).props))).toBe(
      "networks/eth3/role: role 'trustless' would be zone 'trust', but role trusted already is zone 'trust' (roles become zones of their first 5 characters; choose a role such as 'trus1')",
    );
    expect(Object.keys(await readDatabase(root, 'networks'))).not.toContain('eth3');
  });

  it('the clash is blamed on the write even when the new key sorts first', async () => {
    const root = await roots.make();
    await setRecord(root, 'networks', 'eth3', 'ethernet', iface('trusted', 3).props);
    expect(await refusal(() => setRecord(root, 'networks', 'eth2', 'ethernet', iface('trustless', 2).props))).toMatch(/^networks\/eth2\/role: role 'trustless'/);
  });

  it('two interfaces with the same custom role share its zone', async () => {
    const root = await roots.make();
    await setRecord(root, 'networks', 'eth2', 'ethernet', iface('lab', 2).props);
    await setRecord(root, 'networks', 'eth3', 'ethernet', iface('lab', 3).props);
  });

  it.each([
    ['net', "'net' is the zone of the built-in role red"],
    ['orangutan', "'orang' is the zone of the built-in role orange"],
    ['location', "'locat'", true],
    ['fw', "'fw' is reserved by Shorewall"],
    ['all2x', "'all2x' is reserved by Shorewall"],
  ] as [string, string, boolean?][])('a custom role %s is refused when its zone is reserved or built in', async (role, why, accepted = false) => {
    const root = await roots.make();
    const write = () => setRecord(root, 'networks', 'eth2', 'ethernet', iface(role, 2).props);
    if (accepted) {
      await write();
      return;
    }
    const line = await refusal(write);
    expect(line).toMatch(/^networks\/eth2\/role: /);
    expect(line).toContain(why);
    expect(line).toMatch(/e\.g\. '\w+'\)$/);
  });

  it('setprop changing a role into a clash is refused', async () => {
    const root = await roots.make();
    await setRecord(root, 'networks', 'eth2', 'ethernet', iface('trusted', 2).props);
    await setRecord(root, 'networks', 'eth3', 'ethernet', iface('guests', 3).props);
    expect(await refusal(() => setProps(root, 'networks', 'eth3', { role: 'trustless' }))).toMatch(/^networks\/eth3\/role: role 'trustless' would be zone 'trust'/);
  });

  it('a zone record named like a role zone is refused', async () => {
    const root = await roots.make();
    await setRecord(root, 'networks', 'eth2', 'ethernet', iface('trusted', 2).props);
    expect(await refusal(() => setRecord(root, 'networks', 'trust', 'zone', { Interface: 'eth2', Network: '10.0.2.128/25' }))).toBe(
      "networks/trust: zone record 'trust' would be zone 'trust', but role trusted already is zone 'trust' (name the zone record differently, e.g. 'trus1')",
    );
  });

  it('import (setjson) of clashing records is refused as a whole, naming the line', async () => {
    const root = await roots.make();
    const e = await refusal(() =>
      setRecords(root, 'networks', [
        { key: 'eth2', record: iface('trusted', 2), line: 7 },
        { key: 'eth3', record: iface('trustless', 3), line: 8 },
      ], 'old-networks'),
    );
    expect(e).toMatch(/^old-networks:8 networks\/eth3\/role: role 'trustless'/);
    expect(Object.keys(await readDatabase(root, 'networks'))).not.toContain('eth2');
  });
});

describe('the model refuses the same clashes in records written by hand', () => {
  it('two custom roles cut to one zone', () => {
    expect(modelRefusal({ eth2: iface('trusted', 2), eth3: iface('trustless', 3) })).toBe(
      "networks/eth3/role: role 'trustless' would be zone 'trust', but role trusted already is zone 'trust' (roles become zones of their first 5 characters; choose a role such as 'trus1')",
    );
  });

  it('a custom role named net', () => {
    expect(modelRefusal({ eth1: iface('red', 1), eth2: iface('net', 2) })).toMatch(/^networks\/eth2\/role: role 'net' would be zone 'net', but 'net' is the zone of the built-in role red/);
  });

  it('a custom role orangutan', () => {
    expect(modelRefusal({ eth2: iface('orangutan', 2) })).toMatch(/^networks\/eth2\/role: role 'orangutan' would be zone 'orang'/);
  });

  it('distinct custom roles get distinct zones', () => {
    const model = buildModel({ networks: { eth0: iface('green', 0), eth2: iface('trusted', 2), eth3: iface('lab', 3), eth4: iface('lab', 4) } }, { timeZone: 'UTC' });
    expect(model.zones.map((z) => z.name)).toEqual(['loc', 'trust', 'lab']);
  });
});
