/**
 * Prototype names and invisible characters: a database, key or member named like a
 * JavaScript built-in (`constructor`, `toString`) is an ordinary name; bidirectional and
 * zero-width characters are refused in names and shown escaped in values.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, formatShow, readDatabase, setRecord } from '../../src/db/index.js';
import { GatehouseError, describeError } from '../../src/errors/index.js';
import { buildModel } from '../../src/model/index.js';
import { Roots } from './run-db.js';

const roots = new Roots();
afterAll(() => roots.cleanup());

async function refusal(write: () => Promise<unknown>): Promise<string> {
  try {
    await write();
  } catch (e) {
    if (e instanceof GatehouseError) return e.format();
    throw e;
  }
  throw new Error('accepted');
}

describe('prototype names are ordinary names', () => {
  it('a database named constructor stores and reads its records', async () => {
    const root = await roots.make();
    await setRecord(root, 'constructor', 'k', 't', {});
    expect(await readDatabase(root, 'constructor')).toEqual({ k: { type: 't', props: {} } });
  });

  it('a group member named constructor is a missing host, named as such', () => {
    const networks: Database = { eth0: { type: 'ethernet', props: { role: 'green', ipaddr: '10.0.0.1', netmask: '255.255.255.0' } } };
    const dbs = {
      networks,
      hosts: { g: { type: 'host-group', props: { Members: 'constructor,toString' } } },
      fwrules: { '1': { type: 'rule', props: { Src: 'host-group;g', Dst: 'any', Action: 'drop' } } },
    };
    expect(() => buildModel(dbs, { timeZone: 'UTC' })).toThrow("refers to host 'constructor' (member of host-group 'g'), which does not exist");
  });

  it('a rule naming host;toString is a missing host', () => {
    const networks: Database = { eth0: { type: 'ethernet', props: { role: 'green', ipaddr: '10.0.0.1', netmask: '255.255.255.0' } } };
    try {
      buildModel({ networks, fwrules: { '1': { type: 'rule', props: { Src: 'host;toString', Dst: 'any', Action: 'reject' } } } }, { timeZone: 'UTC' });
      throw new Error('accepted');
    } catch (e) {
      expect(describeError(e)).toBe("fwrules/1/Src: refers to host 'toString', which does not exist (create it in the hosts database or fix the reference)");
    }
  });
});

describe('bidirectional and zero-width characters', () => {
  it.each(['web\u202e', 'w\u200beb', '\ufeffweb', 'web\u2066'])('a key %j is refused, shown escaped', async (key) => {
    const root = await roots.make();
    const line = await refusal(() => setRecord(root, 'hosts', key, 'host', { IpAddress: '10.0.0.5' }));
    expect(line).toMatch(/holds a bidirectional or zero-width character, which would display as something else/);
    expect(line).not.toMatch(/[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/);
  });

  it('a prop name with one is refused', async () => {
    const root = await roots.make();
    expect(await refusal(() => setRecord(root, 'hosts', 'web', 'host', { 'Ip\u200bAddress': '10.0.0.5' }))).toMatch(/prop name 'Ip\\u200bAddress' holds a bidirectional/);
  });

  it('a value may hold one (free text), but show prints it escaped', () => {
    expect(formatShow('web', { type: 'host', props: { Description: 'evil\u202etxt.exe' } })).toBe('web=host\n    Description=evil\\u202etxt.exe\n');
  });

  it('an error message quoting such a value shows it escaped', async () => {
    const root = await roots.make();
    const line = await refusal(() => setRecord(root, 'hosts', 'web', 'host', { IpAddress: '10.0.0.5\u202e' }));
    expect(line).toContain("'10.0.0.5\\u202e' is not valid");
  });
});
