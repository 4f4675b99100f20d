/**
 * The per-request parts of the API's pipeline made cheap for bursts: the users read
 * again only when their database changed, the client address check made once per
 * connection, and the verified-login cache keyed so that no two logins share a key.
 */
import { mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Blocklist, type BlocklistKernel, VerifiedLogins, apiRunning, hashPassword, holdApiLock, readEntries, usersReader } from '../../src/api/index.js';
import { ClientCheck } from '../../src/api/server.js';
import { databaseFile, setProps, setRecord } from '../../src/db/index.js';
import { GatehouseError } from '../../src/errors/index.js';

/** A kernel that does nothing but what a test gives it. */
function fakeKernel(parts: Partial<BlocklistKernel>): BlocklistKernel {
  return {
    mode: { kind: 'dry-run' },
    async apply() {},
    async rules() {},
    async load() {},
    async counters() {
      return new Map();
    },
    close() {},
    ...parts,
  };
}

describe('usersReader', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-users-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('sees every change of the apiusers database, and reads it only then', async () => {
    const users = usersReader(root);
    expect(await users()).toEqual(new Map());
    const first = await hashPassword('correct horse');
    await setRecord(root, 'apiusers', 'alice', 'user', { PasswordHash: first, status: 'enabled' });
    const read = await users();
    expect(read).toEqual(new Map([['alice', first]]));
    // Just written: read at every request (a write in the same clock step could look alike).
    expect(await users()).not.toBe(read);
    // Older than that: the same map while the file is unchanged, not a new read.
    const old = new Date(Date.now() - 5000);
    await utimes(databaseFile(root, 'apiusers'), old, old);
    const settled = await users();
    expect(settled).toEqual(read);
    expect(await users()).toBe(settled);
    // Once read, the users are handed out as they are, without a promise (a verified login then goes on synchronously).
    expect(users()).toBe(settled);
    const second = await hashPassword('battery staple');
    await setProps(root, 'apiusers', 'alice', { PasswordHash: second });
    expect((await users()).get('alice')).toBe(second);
    await setProps(root, 'apiusers', 'alice', { status: 'disabled' });
    expect((await users()).has('alice')).toBe(false);
  });
});

describe('ClientCheck', () => {
  const check = new ClientCheck(['127.0.0.0/8', '::1/128', '198.51.100.0/24', '2001:db8::/32']);

  it('allows the listed networks, IPv4-mapped addresses as IPv4, and nothing else', () => {
    expect(check.check('198.51.100.7')).toEqual({ client: '198.51.100.7', allowed: true });
    expect(check.check('::ffff:198.51.100.7')).toEqual({ client: '198.51.100.7', allowed: true });
    expect(check.check('2001:db8::5')).toEqual({ client: '2001:db8::5', allowed: true });
    expect(check.check('203.0.113.7')).toEqual({ client: '203.0.113.7', allowed: false });
    expect(check.check('2001:db9::5')).toEqual({ client: '2001:db9::5', allowed: false });
    expect(check.check('')).toEqual({ client: '', allowed: false });
  });

  it('checks each connection once; another connection is checked on its own', () => {
    const a = { remoteAddress: '198.51.100.7' };
    const b = { remoteAddress: '203.0.113.7' };
    const first = check.of(a);
    expect(check.of(a)).toBe(first);
    expect(first.allowed).toBe(true);
    expect(check.of(b).allowed).toBe(false);
  });
});

describe('VerifiedLogins', () => {
  it('a verified login never stands for the same characters split differently between user and password', async () => {
    const logins = new VerifiedLogins();
    const stored = await hashPassword('bc');
    expect(await logins.check('a', 'bc', stored)).toBe(true);
    expect(await logins.check('ab', 'c', stored)).toBe(false);
    expect(await logins.check('a', 'bc', stored)).toBe(true);
    expect(await logins.check('a', 'bc', await hashPassword('other'))).toBe(false);
  });

  it('known() holds only a login verified against the same stored hash, within its time, and never verifies one itself', async () => {
    let clock = 1_000_000;
    const logins = new VerifiedLogins(300, () => clock);
    const stored = await hashPassword('bc');
    expect(logins.known('a', 'bc', stored)).toBe(false);
    expect(await logins.check('a', 'bc', stored)).toBe(true);
    expect(logins.known('a', 'bc', stored)).toBe(true);
    expect(logins.known('a', 'bd', stored)).toBe(false);
    expect(logins.known('ab', 'c', stored)).toBe(false);
    // The password changed (another hash), or the user is gone.
    expect(logins.known('a', 'bc', await hashPassword('bc'))).toBe(false);
    expect(logins.known('a', 'bc', undefined)).toBe(false);
    clock += 301_000;
    expect(logins.known('a', 'bc', stored)).toBe(false);
  });
});

describe('a kernel batch that fails on one line', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-batch-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is undone whole (ipset does each line on its own), and every request of it fails', async () => {
    // A kernel like `ipset -`: each line applied by itself; the one naming 203.0.113.9 is refused.
    const held = new Set<string>();
    const batches: string[][] = [];
    const kernel = fakeKernel({
      async apply(lines) {
        if (lines.length > 0) batches.push(lines);
        let refused: string | undefined;
        for (const line of lines) {
          const [verb, , , element] = line.split(' ');
          if (element === '203.0.113.9/32') refused ??= line;
          else if (verb === 'add') held.add(element!);
          else held.delete(element!);
        }
        if (refused) throw new GatehouseError(`ipset refused '${refused}': Hash is full`);
      },
    });
    const blocklist = new Blocklist({ root, kernel, whitelist: () => [] });
    await blocklist.start();
    const entry = (address: string) => ({ action: 'drop' as const, chain: 'input' as const, interface: 'any', family: 4 as const, address });
    await blocklist.add(entry('203.0.113.1/32'));
    expect([...held]).toEqual(['203.0.113.1/32']);
    // Requests made in one round of I/O share a batch.
    const results = await Promise.allSettled([blocklist.add(entry('203.0.113.7/32')), blocklist.remove(entry('203.0.113.1/32')), blocklist.add(entry('203.0.113.9/32'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(batches.at(-2)).toHaveLength(3);
    expect(batches.at(-1)).toEqual(['del -exist ghbl-drop-input-4 203.0.113.9/32', 'add -exist ghbl-drop-input-4 203.0.113.1/32 timeout 0', 'del -exist ghbl-drop-input-4 203.0.113.7/32']);
    expect([...held]).toEqual(['203.0.113.1/32']);
    expect(blocklist.list().map((e) => e.address)).toEqual(['203.0.113.1/32']);
    expect((await readEntries(root)).entries.map((e) => e.address)).toEqual(['203.0.113.1/32']);
    blocklist.stop();
  });
});

describe('a batch taken back after its database write failed', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-undo-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('takes its set lines back even when taking back its pair rules fails (no accept left in the kernel)', async () => {
    const held = new Set<string>();
    let ruleCalls = 0;
    const kernel = fakeKernel({
      async apply(lines) {
        for (const line of lines) {
          const [verb, , , element] = line.split(' ');
          if (verb === 'add') held.add(element!);
          else held.delete(element!);
        }
      },
      // The pair rule goes in; taking it back fails (say, someone removed it meanwhile).
      async rules() {
        if (++ruleCalls > 1) throw new GatehouseError('iptables-restore: Bad rule (does a matching rule exist in that chain?)');
      },
    });
    const blocklist = new Blocklist({ root, kernel, whitelist: () => [] });
    await blocklist.start();
    // Let start's work settle, then make the database write fail: a directory where the journal and the file go.
    await new Promise((r) => setTimeout(r, 100));
    const file = databaseFile(root, 'blocklist');
    await rm(file, { force: true });
    await mkdir(file, { recursive: true });
    await mkdir(file.replace(/\.json$/, '.journal'), { recursive: true });
    const results = await Promise.allSettled([
      blocklist.add({ action: 'accept', chain: 'forward', interface: 'any', family: 4, address: '192.168.10.10/32', to: { interface: 'any', address: '198.51.100.10/32' } }),
      blocklist.add({ action: 'accept', chain: 'input', interface: 'any', family: 4, address: '198.51.100.9/32' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(ruleCalls).toBe(2);
    // A false accept if 198.51.100.9 stayed in the accept set with no entry the API knows of.
    expect([...held]).toEqual([]);
    expect(blocklist.list()).toEqual([]);
    blocklist.stop();
  });
});

describe('the database write of a burst', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-defer-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('waits while more requests wait for the kernel: one write after the last batch, then every answer', async () => {
    // A kernel whose batches end when the test says.
    const pending: (() => void)[] = [];
    const kernel = fakeKernel({
      apply: (lines) => (lines.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => pending.push(resolve))),
    });
    const blocklist = new Blocklist({ root, kernel, whitelist: () => [] });
    await blocklist.start();
    const entry = (address: string) => ({ action: 'drop' as const, chain: 'input' as const, interface: 'any', family: 4 as const, address });
    const answered: string[] = [];
    const first = blocklist.add(entry('203.0.113.1/32')).then(() => answered.push('first'));
    const until = async (test: () => boolean) => {
      while (!test()) await new Promise((r) => setImmediate(r));
    };
    await until(() => pending.length === 1);
    // Meanwhile another request: it waits for the kernel, so the first batch's write waits too.
    const second = blocklist.add(entry('203.0.113.2/32')).then(() => answered.push('second'));
    pending.shift()!();
    await until(() => pending.length === 1);
    expect(blocklist.stats().databaseWrites).toBe(0);
    expect(answered).toEqual([]);
    pending.shift()!();
    await Promise.all([first, second]);
    expect(blocklist.stats()).toMatchObject({ kernelBatches: 2, databaseWrites: 1 });
    expect((await readEntries(root)).entries.map((e) => e.address).sort()).toEqual(['203.0.113.1/32', '203.0.113.2/32']);
    blocklist.stop();
  });
});

describe('pipelined kernel batches', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-pipeline-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const entry = (address: string) => ({ action: 'drop' as const, chain: 'input' as const, interface: 'any', family: 4 as const, address });
  const until = async (test: () => boolean) => {
    for (let i = 0; !test(); i++) {
      if (i > 10_000) throw new Error(`never came: ${test.toString()}`);
      await new Promise((r) => setImmediate(r));
    }
  };

  /** A kernel like `ipset -` whose batches end when the test says (in order), each line applied as it is written. */
  function steppedKernel(refuse?: string) {
    const held = new Set<string>();
    const sent: string[][] = [];
    const pending: { resolve: () => void; reject: (e: Error) => void; refused?: string }[] = [];
    const kernel = fakeKernel({
      apply(lines) {
        if (lines.length === 0) return Promise.resolve();
        sent.push(lines);
        let refused: string | undefined;
        for (const line of lines) {
          const [verb, , , element] = line.split(' ');
          if (element === refuse) refused ??= line;
          else if (verb === 'add') held.add(element!);
          else held.delete(element!);
        }
        return new Promise<void>((resolve, reject) => pending.push({ resolve, reject, ...(refused ? { refused } : {}) }));
      },
    });
    const step = () => {
      const p = pending.shift()!;
      if (p.refused) p.reject(new GatehouseError(`ipset refused '${p.refused}': Hash is full`));
      else p.resolve();
    };
    return { kernel, held, sent, pending, step };
  }

  it('a burst read in one round of I/O goes to the kernel in batches of 16 as it is read, the rest at the end of the round; every one lands once', async () => {
    const k = steppedKernel();
    const blocklist = new Blocklist({ root, kernel: k.kernel, whitelist: () => [] });
    await blocklist.start();
    const adds = Array.from({ length: 40 }, (_, i) => blocklist.add(entry(`203.0.113.${i}/32`)));
    // Before the round ends: two batches already with the kernel.
    expect(k.sent.map((b) => b.length)).toEqual([16, 16]);
    await until(() => k.sent.length === 3);
    expect(k.sent.map((b) => b.length)).toEqual([16, 16, 8]);
    for (let i = 0; i < 3; i++) k.step();
    expect((await Promise.all(adds)).every((r) => r.changed)).toBe(true);
    expect(k.held.size).toBe(40);
    expect((await readEntries(root)).entries).toHaveLength(40);
    blocklist.stop();
  });

  it('the next batch goes to the kernel while one is still there, worked out over its changes; both are recorded', async () => {
    const k = steppedKernel();
    const blocklist = new Blocklist({ root, kernel: k.kernel, whitelist: () => [] });
    await blocklist.start();
    const add = blocklist.add(entry('203.0.113.1/32'));
    await until(() => k.sent.length === 1);
    // Sent before the first batch is done: it sees the add in flight, so it deletes it.
    const remove = blocklist.remove(entry('203.0.113.1/32'));
    const again = blocklist.add(entry('203.0.113.2/32'));
    await until(() => k.sent.length === 2);
    expect(k.sent[1]).toEqual(['del -exist ghbl-drop-input-4 203.0.113.1/32', 'add -exist ghbl-drop-input-4 203.0.113.2/32 timeout 0']);
    k.step();
    k.step();
    expect((await add).changed).toBe(true);
    expect((await remove).changed).toBe(true);
    expect((await again).changed).toBe(true);
    expect([...k.held]).toEqual(['203.0.113.2/32']);
    expect(blocklist.list().map((e) => e.address)).toEqual(['203.0.113.2/32']);
    expect((await readEntries(root)).entries.map((e) => e.address)).toEqual(['203.0.113.2/32']);
    expect(blocklist.stats()).toMatchObject({ kernelBatches: 2, databaseWrites: 1 });
    blocklist.stop();
  });

  it('when a batch fails, every batch sent after it is undone too, newest first, and fails: the kernel is as before', async () => {
    const k = steppedKernel('203.0.113.9/32');
    const blocklist = new Blocklist({ root, kernel: k.kernel, whitelist: () => [] });
    await blocklist.start();
    const before = blocklist.add(entry('203.0.113.1/32'));
    await until(() => k.pending.length === 1);
    k.step();
    await before;
    k.sent.length = 0;
    const first = Promise.allSettled([blocklist.add(entry('203.0.113.7/32')), blocklist.add(entry('203.0.113.9/32'))]);
    await until(() => k.sent.length === 1);
    // Worked out over the first: deletes 203.0.113.7, deletes 203.0.113.1, re-adds 203.0.113.7 (a duplicate of nothing now).
    const second = Promise.allSettled([blocklist.remove(entry('203.0.113.7/32')), blocklist.remove(entry('203.0.113.1/32')), blocklist.add(entry('203.0.113.5/32'))]);
    // A third with only a duplicate of the failing batch's add: no kernel line, yet it stands or falls with the batches before it.
    await until(() => k.sent.length === 2);
    const third = blocklist.add(entry('203.0.113.9/32')).then(
      (r) => r.changed,
      () => 'failed',
    );
    // Its batch is worked out after the current round of I/O.
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(k.sent).toHaveLength(2);
    k.step();
    // The undo is one more batch: the second's lines taken back, then the first's.
    await until(() => k.sent.length === 3);
    expect(k.sent[2]).toEqual([
      'del -exist ghbl-drop-input-4 203.0.113.5/32',
      'add -exist ghbl-drop-input-4 203.0.113.1/32 timeout 0',
      'add -exist ghbl-drop-input-4 203.0.113.7/32 timeout 0',
      'del -exist ghbl-drop-input-4 203.0.113.9/32',
      'del -exist ghbl-drop-input-4 203.0.113.7/32',
    ]);
    k.step();
    k.step();
    expect((await first).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await second).map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await third).toBe('failed');
    expect([...k.held]).toEqual(['203.0.113.1/32']);
    expect(blocklist.list().map((e) => e.address)).toEqual(['203.0.113.1/32']);
    // The next request is worked out over what is in force.
    const next = blocklist.add(entry('203.0.113.7/32'));
    await until(() => k.pending.length === 1);
    k.step();
    expect((await next).changed).toBe(true);
    expect((await readEntries(root)).entries.map((e) => e.address).sort()).toEqual(['203.0.113.1/32', '203.0.113.7/32']);
    blocklist.stop();
  });

  it('a batch with pair rules waits until no set batch is in flight', async () => {
    const k = steppedKernel();
    const rules: string[][] = [];
    k.kernel.rules = async (lines) => void rules.push(lines);
    const blocklist = new Blocklist({ root, kernel: k.kernel, whitelist: () => [] });
    await blocklist.start();
    const set = blocklist.add(entry('203.0.113.1/32'));
    await until(() => k.sent.length === 1);
    const pair = blocklist.add({ ...entry('192.168.10.10/32'), chain: 'forward' as const, to: { interface: 'any', address: '198.51.100.10/32' } });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(rules).toEqual([]);
    k.step();
    await set;
    await until(() => rules.length === 1);
    expect((await pair).changed).toBe(true);
    blocklist.stop();
  });
});

describe('the running API lock', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-apilock-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('says an API runs while one holds it (gatehouse start then leaves the sets alone); a second API is refused', async () => {
    expect(await apiRunning(root)).toBe(false);
    const release = await holdApiLock(root);
    expect(await apiRunning(root)).toBe(true);
    await expect(holdApiLock(root, 1)).rejects.toThrow(/another gatehouse api is running on this root/);
    await release();
    expect(await apiRunning(root)).toBe(false);
  });
});
