/**
 * The API through fastify's inject, with a kernel that records what it is sent: order of
 * checks (403, 429, 401), 409 for the whitelist, duplicates changing nothing, concurrent
 * requests served in few batches, nothing half-applied, entries surviving a restart and
 * expiring on time. The real kernel is proved in api-lab.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ApiSettings, Blocklist, type BlocklistKernel, hashPassword, readEntries } from '../../src/api/index.js';
import { buildServer } from '../../src/api/server.js';
import { databaseFile, journalFile, setRecord } from '../../src/db/index.js';
import { GatehouseError } from '../../src/errors/index.js';

class RecordingKernel implements BlocklistKernel {
  readonly mode = { kind: 'dry-run' } as const;
  batches: string[][] = [];
  rulesBatches: string[][] = [];
  loads: { entries: number; lines: string[] }[] = [];
  counted = new Map<string, { packets: number; bytes: number }>();
  failNext = false;
  failRules = false;
  /** Fails an apply whose lines name this. */
  failOn: string | undefined;
  /** When set, the next apply waits for it (so the requests that follow form one batch). */
  hold: Promise<void> | undefined;
  async apply(lines: string[]): Promise<void> {
    const hold = this.hold;
    this.hold = undefined;
    if (hold) await hold;
    if (this.failOn && lines.some((l) => l.includes(this.failOn!))) throw new GatehouseError('ipset refused');
    if (this.failNext) {
      this.failNext = false;
      throw new GatehouseError('ipset refused');
    }
    if (lines.length > 0) this.batches.push(lines);
  }
  async rules(lines: string[]): Promise<void> {
    if (this.failRules) throw new GatehouseError('iptables-restore refused');
    this.rulesBatches.push(lines);
  }
  async load(entries: readonly { entry: { address: string; to?: { address: string } }; timeout?: number; expires?: number }[]): Promise<void> {
    this.loads.push({ entries: entries.length, lines: entries.map((e) => `${e.entry.address}${e.entry.to ? ` to ${e.entry.to.address} until ${e.expires ?? '-'}` : ''} ${e.timeout ?? 0}`) });
  }
  async counters() {
    return this.counted;
  }
  close(): void {}
}

const AUTH = { authorization: 'Basic ' + Buffer.from('alice:correct horse').toString('base64') };

const settings: ApiSettings = {
  enabled: true,
  listen: '127.0.0.1',
  port: 0,
  tls: false,
  certificate: '',
  key: '',
  allowedClients: ['127.0.0.0/8', '::1/128', '198.51.100.10/32'],
  whitelist: ['127.0.0.0/8', '::1/128', '198.51.100.10/32', '192.168.1.0/24'],
  failureLimit: 3,
  failureWindowSeconds: 60,
  warmUpRequests: 0,
};

describe('the API, with a recording kernel', () => {
  let root: string;
  let kernel: RecordingKernel;
  let blocklist: Blocklist;
  let app: FastifyInstance;
  let clock: number;
  let hash: string;

  const start = async () => {
    kernel = new RecordingKernel();
    blocklist = new Blocklist({ root, kernel, whitelist: () => settings.whitelist, now: () => clock });
    await blocklist.start();
    app = await buildServer({
      settings,
      blocklist,
      mode: { kind: 'dry-run' },
      users: async () => new Map([['alice', hash]]),
      adjust: async () => ({ ran: true }),
      logger: false,
    });
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-api-'));
    clock = 1_800_000_000;
    hash ??= await hashPassword('correct horse');
    await start();
  });
  afterEach(async () => {
    await app.close();
    blocklist.stop();
    await rm(root, { recursive: true, force: true });
  });

  const put = (url: string, remoteAddress = '198.51.100.10', headers: Record<string, string> = AUTH) => app.inject({ method: 'PUT', url, headers, remoteAddress });

  it('PUT blocks at once in the kernel and the database; the same PUT again changes nothing', async () => {
    const first = await put('/drop/input/eth0/203.0.113.7');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ result: 'added', changed: true });
    expect(kernel.batches).toEqual([['add -exist ghbl-drop-input-if-4 203.0.113.7/32,eth0 timeout 0']]);
    const again = await put('/drop/input/eth0/203.0.113.7');
    expect(again.json()).toMatchObject({ result: 'exists', changed: false });
    expect(kernel.batches).toHaveLength(1);
    expect((await readEntries(root)).entries.map((e) => e.key)).toEqual(['drop/input/eth0/203.0.113.7/32']);
  });

  it('DELETE removes it; deleting what is absent changes nothing', async () => {
    await put('/drop/output/any/2001:db8::/48');
    const del = await app.inject({ method: 'DELETE', url: '/drop/output/any/2001:db8::/48', headers: AUTH, remoteAddress: '198.51.100.10' });
    expect(del.json()).toMatchObject({ result: 'deleted', changed: true });
    expect(kernel.batches[1]).toEqual(['del -exist ghbl-drop-output-6 2001:db8::/48']);
    const none = await app.inject({ method: 'DELETE', url: '/drop/output/any/2001:db8::/48', headers: AUTH, remoteAddress: '198.51.100.10' });
    expect(none.json()).toMatchObject({ result: 'absent', changed: false });
    expect(kernel.batches).toHaveLength(2);
  });

  it('an interface prefix and the same exact name conflict (the kernel keys them alike): 409', async () => {
    expect((await put('/drop/input/eth+/203.0.113.7')).statusCode).toBe(200);
    const r = await put('/drop/input/eth/203.0.113.7');
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toContain('conflicts with the entry drop/input/eth+/203.0.113.7/32');
    expect(kernel.batches).toEqual([['add -exist ghbl-drop-input-if-4 203.0.113.7/32,eth wildcard timeout 0']]);
  });

  it('a client outside AllowedClients gets 403 before any password check', async () => {
    const r = await put('/drop/input/any/203.0.113.7', '203.0.113.99', {});
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toContain('203.0.113.99 is not allowed');
  });

  it('a wrong password gets 401; past the limit the client gets 429 even with the right one', async () => {
    const wrong = { authorization: 'Basic ' + Buffer.from('alice:guess').toString('base64') };
    for (let i = 0; i < 3; i++) expect((await put('/drop/input/any/203.0.113.7', '198.51.100.10', wrong)).statusCode).toBe(401);
    expect((await put('/drop/input/any/203.0.113.7', '198.51.100.10', {})).statusCode).toBe(429);
    const limited = await put('/drop/input/any/203.0.113.7');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(kernel.batches).toEqual([]);
    // Another allowed client is not affected.
    expect((await put('/drop/input/any/203.0.113.7', '127.0.0.1')).statusCode).toBe(200);
  });

  it('users known without waiting (as the API reads them): a verified login goes on at once; a new password, a wrong one or a changed hash is checked again', async () => {
    await app.close();
    const users = new Map([['alice', hash]]);
    app = await buildServer({ settings, blocklist, mode: { kind: 'dry-run' }, users: () => users, adjust: async () => ({}), logger: false });
    expect((await put('/drop/input/any/203.0.113.7')).statusCode).toBe(200);
    expect((await put('/drop/input/any/203.0.113.8')).statusCode).toBe(200);
    const wrong = { authorization: 'Basic ' + Buffer.from('alice:guess').toString('base64') };
    expect((await put('/drop/input/any/203.0.113.9', '198.51.100.10', wrong)).statusCode).toBe(401);
    // The password was changed: the old one, verified a moment ago, no longer passes.
    users.set('alice', await hashPassword('battery staple'));
    expect((await put('/drop/input/any/203.0.113.9')).statusCode).toBe(401);
    const fresh = { authorization: 'Basic ' + Buffer.from('alice:battery staple').toString('base64') };
    expect((await put('/drop/input/any/203.0.113.9', '198.51.100.10', fresh)).statusCode).toBe(200);
    users.delete('alice');
    expect((await put('/drop/input/any/203.0.113.10', '198.51.100.10', fresh)).statusCode).toBe(401);
    expect(kernel.batches.flat()).toEqual(['203.0.113.7', '203.0.113.8', '203.0.113.9'].map((a) => `add -exist ghbl-drop-input-4 ${a}/32 timeout 0`));
  });

  it('no credentials, an unknown user: 401 with a challenge', async () => {
    const r = await put('/drop/input/any/203.0.113.7', '198.51.100.10', {});
    expect(r.statusCode).toBe(401);
    expect(r.headers['www-authenticate']).toContain('Basic');
    expect((await put('/drop/input/any/203.0.113.7', '198.51.100.10', { authorization: 'Basic ' + Buffer.from('bob:correct horse').toString('base64') })).statusCode).toBe(401);
  });

  it('the whitelist (green network, API clients, loopback) can never be dropped: 409, nothing written', async () => {
    for (const target of ['192.168.1.10', '192.168.0.0/16', '198.51.100.10', '127.0.0.1']) {
      const r = await put(`/drop/input/any/${target}`);
      expect(r.statusCode, target).toBe(409);
      expect(r.json().error).toContain('whitelisted');
    }
    expect((await put('/accept/input/any/192.168.1.10')).statusCode).toBe(200);
    expect(kernel.batches).toHaveLength(1);
  });

  it('bad input: a 4xx with a one-line reason, and nothing changes', async () => {
    const cases: [string, string, number][] = [
      ['PUT', '/drop/input/any/300.1.1.1', 400],
      ['PUT', '/drop/input/any/1.2.3.4?expire=0', 400],
      ['PUT', '/drop/input/any/1.2.3.4?expire=10&expire=20', 400],
      ['PUT', '/drop/input/any/1.2.3.4?port=22', 400],
      ['PUT', '/reject/input/any/1.2.3.4', 404],
      ['PUT', '/drop/prerouting/any/1.2.3.4', 404],
      ['POST', '/drop/input/any/1.2.3.4', 405],
      ['PATCH', '/v1/blocklist', 405],
      ['GET', '/nothing/here', 404],
      ['DELETE', '/drop/input/any/1.2.3.4?expire=5', 400],
      ['GET', '/list/prerouting', 404],
    ];
    for (const [method, url, status] of cases) {
      const r = await app.inject({ method: method as 'PUT', url, headers: AUTH, remoteAddress: '198.51.100.10' });
      expect(r.statusCode, `${method} ${url}`).toBe(status);
      const error = r.json().error as string;
      expect(error, `${method} ${url}`).toMatch(/^[^\n]+$/);
    }
    const bodies: [string | undefined, string, number][] = [
      ['{"address":', 'application/json', 400],
      ['{"address":"1.2.3.4","expire":-1}', 'application/json', 400],
      ['address=1.2.3.4', 'application/x-www-form-urlencoded', 415],
      [JSON.stringify({ address: '1.2.3.4', pad: 'x'.repeat(5000) }), 'application/json', 413],
    ];
    for (const [payload, type, status] of bodies) {
      const r = await app.inject({ method: 'POST', url: '/v1/blocklist', headers: { ...AUTH, 'content-type': type }, payload, remoteAddress: '198.51.100.10' });
      expect(r.statusCode, payload?.slice(0, 30)).toBe(status);
      expect(r.json().error).toMatch(/^[^\n]+$/);
    }
    expect(kernel.batches).toEqual([]);
    expect((await readEntries(root)).entries).toEqual([]);
  });

  it('100 concurrent requests are serialised into a few batches; every one lands once', async () => {
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => put(`/drop/input/any/198.18.${i >> 4}.${i}`)));
    expect(replies.every((r) => r.statusCode === 200)).toBe(true);
    const lines = kernel.batches.flat();
    expect(lines).toHaveLength(100);
    expect(new Set(lines).size).toBe(100);
    expect(kernel.batches.length).toBeLessThan(100);
    expect((await readEntries(root)).entries).toHaveLength(100);
  });

  it('a kernel failure writes nothing and fails every request of the batch', async () => {
    kernel.failNext = true;
    const r = await put('/drop/input/any/203.0.113.7');
    expect(r.statusCode).toBe(503);
    expect(r.json().error).toContain('ipset refused');
    expect((await readEntries(root)).entries).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/v1/blocklist', headers: AUTH, remoteAddress: '198.51.100.10' })).json().entries).toEqual([]);
  });

  it('a database write that fails puts the kernel back', async () => {
    // A directory where the journal's first version is written: the write fails after the kernel step.
    await mkdir(join(root, 'var/lib/gatehouse/db/blocklist.journal.tmp'), { recursive: true });
    const r = await put('/drop/input/any/203.0.113.7');
    expect(r.statusCode).toBeGreaterThanOrEqual(500);
    expect(kernel.batches.at(-1)).toEqual(['del -exist ghbl-drop-input-4 203.0.113.7/32']);
  });

  it('expire: listed with the time left, gone from lists once passed, purged from the database', async () => {
    await put('/drop/input/any/203.0.113.7?expire=2');
    expect(kernel.batches[0]).toEqual(['add -exist ghbl-drop-input-4 203.0.113.7/32 timeout 2']);
    const list = await app.inject({ method: 'GET', url: '/list/input', headers: AUTH, remoteAddress: '198.51.100.10' });
    expect(list.json()).toEqual([
      { chain: 'INPUT', num: '1', pkts: '0', bytes: '0', target: 'DROP', prot: 'all', opt: '--', inp: '*', out: '*', source: '203.0.113.7/32', destination: '0.0.0.0/0', extra: 'expires in 2s' },
    ]);
    clock += 3;
    expect((await app.inject({ method: 'GET', url: '/list/input', headers: AUTH, remoteAddress: '198.51.100.10' })).json()).toEqual([]);
    await blocklist.purge();
    expect((await readEntries(root)).entries).toEqual([]);
  });

  it('a restart loads every entry again with the time it has left; expired ones are not loaded', async () => {
    await put('/drop/input/any/203.0.113.7?expire=100');
    await put('/drop/input/any/203.0.113.8?expire=5');
    await put('/accept/forward/ppp/203.0.113.0/24');
    await app.close();
    blocklist.stop();
    clock += 10;
    await start();
    await blocklist.settled();
    expect(kernel.loads.map((l) => ({ ...l, lines: [...l.lines].sort() }))).toEqual([{ entries: 2, lines: ['203.0.113.0/24 0', '203.0.113.7/32 90'] }]);
    expect((await readEntries(root)).entries.map((e) => e.key).sort()).toEqual(['accept/forward/ppp+/203.0.113.0/24', 'drop/input/any/203.0.113.7/32']);
  });

  it('requests append to the journal (the file is not rewritten); a restart merges it; a torn last line from a crash loses only itself', async () => {
    const file = databaseFile(root, 'blocklist');
    await put('/drop/input/any/203.0.113.7');
    await put('/drop/input/any/203.0.113.8');
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(journalFile(file), 'utf8').split('\n')).toHaveLength(4);
    // The crash: a third change half written.
    await appendFile(journalFile(file), '{"k":"drop/input/any/203.0.113.9/32","r":{"type":"ent');
    await app.close();
    blocklist.stop();
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await start();
    await blocklist.settled();
    stderr.mockRestore();
    expect(existsSync(journalFile(file))).toBe(false);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object)).toEqual(['drop/input/any/203.0.113.7/32', 'drop/input/any/203.0.113.8/32']);
    expect(kernel.loads[0]!.entries).toBe(2);
  });

  it('/v1: endpoints, status, list with filters, POST then DELETE', async () => {
    const get = (url: string) => app.inject({ method: 'GET', url, headers: AUTH, remoteAddress: '198.51.100.10' });
    expect((await get('/v1')).json().endpoints.length).toBeGreaterThan(5);
    const created = await app.inject({ method: 'POST', url: '/v1/blocklist', headers: AUTH, payload: { address: '203.0.113.7', chain: 'forward', expire: 60 }, remoteAddress: '198.51.100.10' });
    expect(created.statusCode).toBe(201);
    const same = await app.inject({ method: 'POST', url: '/v1/blocklist', headers: AUTH, payload: { address: '203.0.113.7', chain: 'forward' }, remoteAddress: '198.51.100.10' });
    expect(same.statusCode).toBe(200);
    expect((await get('/v1/blocklist?chain=forward')).json().entries).toHaveLength(1);
    expect((await get('/v1/blocklist?chain=input')).json().entries).toHaveLength(0);
    expect((await get('/v1/status')).json().blocklist).toMatchObject({ entries: 1, bySet: { 'drop/forward/any/v4': 1 } });
    const del = await app.inject({ method: 'DELETE', url: '/v1/blocklist/drop/forward/any/203.0.113.7/32', headers: AUTH, remoteAddress: '198.51.100.10' });
    expect(del.json()).toEqual({ changed: true });
    expect((await app.inject({ method: 'POST', url: '/v1/events/firewall-adjust', headers: AUTH, remoteAddress: '198.51.100.10' })).json()).toEqual({ event: 'firewall-adjust', report: { ran: true } });
  });

  it('an invalid record in the blocklist database stops the start, naming it', async () => {
    await app.close();
    blocklist.stop();
    await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true });
    await writeFile(databaseFile(root, 'blocklist'), JSON.stringify({ 'drop/input/any/1.2.3.4/32': { type: 'entry', props: { Action: 'drop', Chain: 'input', Interface: 'any', Address: '1.2.3.5/32' } } }));
    await expect(start()).rejects.toThrow(/invalid record.*drop\/input\/any\/1\.2\.3\.4\/32/);
    await start().catch(() => undefined);
  });

  it('the schema refuses a clear-text password and a bad AllowedClients', async () => {
    await expect(setRecord(root, 'apiusers', 'bob', 'user', { PasswordHash: 'hunter22' })).rejects.toThrow(/'hunter22' is not valid/);
    await expect(setRecord(root, 'configuration', 'api', 'service', { AllowedClients: '10.0.0.0/33' })).rejects.toThrow(/'10.0.0.0\/33' is not valid/);
  });

  describe("rfw's two-address forward form (pair rules)", () => {
    const RULE = '-s 203.0.113.0/24 -d 192.168.1.10/32 -i red0 -o green0';

    it('PUT adds one rule per pair (not an ipset line); the same PUT again changes nothing; DELETE removes the same rule', async () => {
      const first = await put('/drop/forward/red0/203.0.113.0/24/green0/192.168.1.10');
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ result: 'added', changed: true, entry: { toInterface: 'green0', toAddress: '192.168.1.10/32' } });
      expect(kernel.batches).toEqual([]);
      expect(kernel.rulesBatches).toEqual([[`4 -A runtime-blocklist-drop ${RULE} -m comment --comment "drop/forward/red0/203.0.113.0/24/green0/192.168.1.10/32" -j DROP`]]);
      expect((await put('/drop/forward/red0/203.0.113.0/24/green0/192.168.1.10/32')).json()).toMatchObject({ result: 'exists', changed: false });
      expect(kernel.rulesBatches).toHaveLength(1);
      const del = await app.inject({ method: 'DELETE', url: '/drop/forward/red0/203.0.113.0/24/green0/192.168.1.10', headers: AUTH, remoteAddress: '198.51.100.10' });
      expect(del.json()).toMatchObject({ result: 'deleted', changed: true });
      expect(kernel.rulesBatches[1]).toEqual([kernel.rulesBatches[0]![0]!.replace(' -A ', ' -D ')]);
      expect((await readEntries(root)).entries).toEqual([]);
    });

    it('a pair whose source is whitelisted is refused with 409; a whitelisted destination is not the whitelist’s concern', async () => {
      const r = await put('/drop/forward/green0/192.168.1.0/24/red0/203.0.113.7');
      expect(r.statusCode).toBe(409);
      expect(r.json().error).toContain('whitelisted');
      expect((await put('/drop/forward/red0/203.0.113.7/green0/192.168.1.10')).statusCode).toBe(200);
    });

    it('an expiring pair carries its end as a time match; once passed, the next batch deletes its rule and record', async () => {
      await put('/drop/forward/any/2001:db8::/48/any/2001:db8:1::1?expire=5');
      const until = new Date((clock + 5) * 1000).toISOString().slice(0, 19);
      expect(kernel.rulesBatches[0]).toEqual([`6 -A runtime-blocklist-drop -s 2001:db8::/48 -d 2001:db8:1::1/128 -m time --datestop ${until} -m comment --comment "drop/forward/any/2001:db8::/48/any/2001:db8:1::1/128" -j DROP`]);
      clock += 6;
      await put('/drop/input/any/203.0.113.9');
      expect(kernel.rulesBatches[1]).toEqual([kernel.rulesBatches[0]![0]!.replace(' -A ', ' -D ')]);
      expect((await readEntries(root)).entries.map((e) => e.key)).toEqual(['drop/input/any/203.0.113.9/32']);
    });

    it('a rule failure fails the request and writes nothing; a set failure in the same batch takes the rules back', async () => {
      kernel.failRules = true;
      expect((await put('/drop/forward/red0/203.0.113.7/green0/192.168.1.10')).statusCode).toBe(503);
      expect((await readEntries(root)).entries).toEqual([]);
      kernel.failRules = false;
      let release = () => {};
      kernel.hold = new Promise((r) => (release = r));
      const first = blocklist.add({ action: 'drop', chain: 'input', interface: 'any', family: 4, address: '203.0.113.1/32' });
      first.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
      const pair = blocklist.add({ action: 'drop', chain: 'forward', interface: 'red0', family: 4, address: '203.0.113.7/32', to: { interface: 'green0', address: '192.168.1.10/32' } });
      const set = blocklist.add({ action: 'drop', chain: 'input', interface: 'any', family: 4, address: '203.0.113.8/32' });
      kernel.failNext = true;
      release();
      // The held batch takes the failure; the pair and the set then go in one batch, which succeeds.
      await expect(first).rejects.toThrow('ipset refused');
      await Promise.all([pair, set]);
      expect(kernel.rulesBatches).toHaveLength(1);
      // Now the failure hits a batch holding a pair and a set: the pair's rule is taken back.
      kernel.hold = new Promise((r) => (release = r));
      const third = blocklist.add({ action: 'drop', chain: 'input', interface: 'any', family: 4, address: '203.0.113.3/32' });
      await new Promise((r) => setTimeout(r, 20));
      const pair2 = blocklist.add({ action: 'drop', chain: 'forward', interface: 'red0', family: 4, address: '203.0.113.9/32', to: { interface: 'green0', address: '192.168.1.10/32' } });
      const set2 = blocklist.add({ action: 'drop', chain: 'input', interface: 'any', family: 4, address: '203.0.113.4/32' });
      const settled = Promise.allSettled([pair2, set2]);
      kernel.failOn = '203.0.113.4/32';
      release();
      await third;
      expect((await settled).map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual(['ipset refused', 'ipset refused']);
      expect(kernel.rulesBatches.at(-1)).toEqual([kernel.rulesBatches.at(-2)![0]!.replace(' -A ', ' -D ')]);
      expect((await readEntries(root)).entries.map((e) => e.key).sort()).toEqual(['drop/forward/red0/203.0.113.7/32/green0/192.168.1.10/32', 'drop/input/any/203.0.113.3/32', 'drop/input/any/203.0.113.8/32']);
    });

    it('a restart loads pairs with their end, in the database and in /v1/blocklist', async () => {
      await put('/accept/forward/ppp/1.2.3.0/24/eth0/5.5.5.5?expire=100');
      await app.close();
      blocklist.stop();
      clock += 10;
      await start();
      expect(kernel.loads[0]!.lines).toEqual([`1.2.3.0/24 to 5.5.5.5/32 until ${clock + 90} 90`]);
      const list = await app.inject({ method: 'GET', url: '/v1/blocklist?chain=forward', headers: AUTH, remoteAddress: '198.51.100.10' });
      expect(list.json().entries).toMatchObject([{ key: 'accept/forward/ppp+/1.2.3.0/24/eth0/5.5.5.5/32', interface: 'ppp+', toInterface: 'eth0', expiresIn: 90 }]);
    });

    it('GET /list shows pairs as rfw shows rules, with the kernel counters of sets and pairs', async () => {
      await put('/drop/forward/red0/203.0.113.0/24/green0/192.168.1.10');
      await put('/drop/forward/any/198.51.100.7');
      kernel.counted.set('drop/forward/red0/203.0.113.0/24/green0/192.168.1.10/32', { packets: 3, bytes: 252 });
      kernel.counted.set('drop/forward/any/198.51.100.7/32', { packets: 1, bytes: 84 });
      const list = await app.inject({ method: 'GET', url: '/list/forward', headers: AUTH, remoteAddress: '198.51.100.10' });
      expect(list.json()).toEqual([
        { chain: 'FORWARD', num: '1', pkts: '1', bytes: '84', target: 'DROP', prot: 'all', opt: '--', inp: '*', out: '*', source: '198.51.100.7/32', destination: '0.0.0.0/0', extra: '' },
        { chain: 'FORWARD', num: '2', pkts: '3', bytes: '252', target: 'DROP', prot: 'all', opt: '--', inp: 'red0', out: 'green0', source: '203.0.113.0/24', destination: '192.168.1.10/32', extra: '' },
      ]);
    });
  });
});
