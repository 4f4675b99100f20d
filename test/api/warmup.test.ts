/**
 * The warm-up at start (src/api/warmup.ts): its requests run through the real server but
 * reach only a blocklist of their own, never the kernel, the database or another route;
 * real requests meanwhile are served as always; its login is gone once it is over.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiSettings, Blocklist, type BlocklistKernel, apiSettings, hashPassword, makeSelfSignedCertificate, readEntries } from '../../src/api/index.js';
import { buildServer } from '../../src/api/server.js';
import { type WarmUpLogin, warmUp, warmUpPath } from '../../src/api/warmup.js';
import { databaseFile, journalFile } from '../../src/db/index.js';
import { describeError } from '../../src/errors/index.js';

class RecordingKernel implements BlocklistKernel {
  readonly mode = { kind: 'dry-run' } as const;
  batches: string[][] = [];
  async apply(lines: string[]): Promise<void> {
    if (lines.length > 0) this.batches.push(lines);
  }
  async rules(lines: string[]): Promise<void> {
    this.batches.push(lines);
  }
  async load(): Promise<void> {}
  async counters() {
    return new Map();
  }
  close(): void {}
}

const basic = (user: string, password: string) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') });
const ALICE = basic('alice', 'correct horse');

describe('the warm-up', () => {
  let root: string;
  let kernel: RecordingKernel;
  let blocklist: Blocklist;
  let app: FastifyInstance;
  let settings: ApiSettings;
  const warm: { login?: WarmUpLogin } = {};
  let aliceHash: string;

  const start = async (tls: boolean) => {
    settings = { ...apiSettings(root, {}, {}), listen: '127.0.0.1', port: 0, tls, certificate: join(root, 'tls.crt'), key: join(root, 'tls.key'), warmUpRequests: 0 };
    if (tls) await makeSelfSignedCertificate(settings.certificate, settings.key, ['127.0.0.1'], 1);
    kernel = new RecordingKernel();
    blocklist = new Blocklist({ root, kernel, whitelist: () => settings.whitelist });
    await blocklist.start();
    app = await buildServer({ settings, blocklist, mode: { kind: 'dry-run' }, users: () => new Map([['alice', aliceHash]]), adjust: async () => ({}), warmUp: warm, logger: false });
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-warmup-'));
    aliceHash ??= await hashPassword('correct horse');
  });
  afterEach(async () => {
    warm.login = undefined;
    await app?.close();
    blocklist?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("routes the warm-up login's rfw PUT and DELETE to its own blocklist, lets it read GET /v1/status, refuses it every other route, and forgets it when disarmed", async () => {
    await start(false);
    const twinKernel = new RecordingKernel();
    const twinRoot = await mkdtemp(join(tmpdir(), 'gatehouse-warmup-twin-'));
    const twin = new Blocklist({ root: twinRoot, kernel: twinKernel, whitelist: () => settings.whitelist });
    await twin.start();
    try {
      const twinHash = await hashPassword('twin password');
      warm.login = { user: 'warm-up-test', hash: twinHash, users: new Map([['warm-up-test', twinHash]]), blocklist: twin };
      const as = basic('warm-up-test', 'twin password');
      const put = await app.inject({ method: 'PUT', url: '/drop/input/any/198.51.100.7', headers: as, remoteAddress: '127.0.0.1' });
      expect(put.statusCode).toBe(200);
      expect(twinKernel.batches).toEqual([['add -exist ghbl-drop-input-4 198.51.100.7/32 timeout 0']]);
      expect(kernel.batches).toEqual([]);
      expect((await readEntries(root)).entries).toEqual([]);
      // Not a reader of the real blocklist, nor anything else.
      // GET /v1/status it may (read only, as a health check); nothing else.
      expect((await app.inject({ method: 'GET', url: '/v1/status', headers: as, remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
      for (const [method, url] of [['GET', '/v1'], ['GET', '/list/input'], ['GET', '/v1/blocklist'], ['POST', '/v1/blocklist'], ['DELETE', '/v1/blocklist/drop/input/any/198.51.100.7'], ['POST', '/v1/events/firewall-adjust']] as const) {
        expect((await app.inject({ method, url, headers: as, remoteAddress: '127.0.0.1' })).statusCode, `${method} ${url}`).toBe(401);
      }
      // A real user meanwhile reaches the real blocklist.
      expect((await app.inject({ method: 'PUT', url: '/drop/input/any/203.0.113.9', headers: ALICE, remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
      expect(kernel.batches).toEqual([['add -exist ghbl-drop-input-4 203.0.113.9/32 timeout 0']]);
      warm.login = undefined;
      expect((await app.inject({ method: 'DELETE', url: '/drop/input/any/198.51.100.7', headers: as, remoteAddress: '127.0.0.1' })).statusCode).toBe(401);
      expect(twinKernel.batches).toHaveLength(1);
    } finally {
      twin.stop();
      await rm(twinRoot, { recursive: true, force: true });
    }
  });

  for (const tls of [false, true]) {
    it(`sends the listening server its requests (a status request per connection, then PUTs and DELETEs) over ${tls ? 'TLS' : 'plain HTTP'}, leaving the kernel, the database and its own files untouched`, async () => {
      await start(tls);
      await app.listen({ host: '127.0.0.1', port: 0 });
      let armed: WarmUpLogin | undefined;
      const warmKernel = new RecordingKernel();
      const result = await warmUp({
        server: app.server,
        settings,
        count: 300,
        kernel: warmKernel,
        whitelist: () => settings.whitelist,
        arm: (login) => ((armed = login), (warm.login = login)),
        disarm: () => (warm.login = undefined),
      });
      // Its own kernel had the changes; the live one none.
      expect(warmKernel.batches.flat().filter((l) => l.startsWith('add '))).toHaveLength(125);
      expect(result.requests).toBe(300);
      expect(blocklist.stats().entries).toBe(0);
      expect(armed?.user).toMatch(/^warm-up-[0-9a-f]{12}$/);
      expect(warm.login).toBeUndefined();
      expect(kernel.batches).toEqual([]);
      expect(existsSync(databaseFile(root, 'blocklist'))).toBe(false);
      expect(existsSync(journalFile(databaseFile(root, 'blocklist')))).toBe(false);
      expect(blocklist.stats().entries).toBe(0);
    });
  }

  it('asks for rfw paths of each chain, both families, with and without an interface or an expiry', () => {
    const paths = Array.from({ length: 60 }, (_, i) => warmUpPath(i));
    for (const part of ['/input/', '/forward/', '/output/', '/any/', '/eth0/', '2001:db8::', '198.51.100.', '?expire=600']) {
      expect(paths.some((p) => p.includes(part)), part).toBe(true);
    }
  });

  it('fails, leaving the login disarmed, when the server cannot be reached', async () => {
    await start(false);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    await app.close();
    const arm = (login: WarmUpLogin) => (warm.login = login);
    await expect(warmUp({ server: { address: () => address }, settings, count: 10, kernel: new RecordingKernel(), whitelist: () => [], arm, disarm: () => (warm.login = undefined) })).rejects.toThrow(/ECONNREFUSED/);
    expect(warm.login).toBeUndefined();
  });
});

describe('configuration api WarmUpRequests', () => {
  const settingsOf = (value?: string) => apiSettings('/r', { api: { type: 'service', props: value === undefined ? {} : { WarmUpRequests: value } } }, {});

  it('defaults to 10000, takes 0 (none) to 100000, and refuses anything else naming the prop', () => {
    expect(settingsOf().warmUpRequests).toBe(10_000);
    expect(settingsOf('0').warmUpRequests).toBe(0);
    expect(settingsOf('100000').warmUpRequests).toBe(100000);
    for (const bad of ['-1', '100001', 'many', '1.5']) {
      let said = '';
      try {
        settingsOf(bad);
      } catch (e) {
        said = describeError(e);
      }
      expect(said, bad).toMatch(/configuration\/api\/WarmUpRequests: .*is not valid.*a whole number from 0 to 100000/);
    }
  });
});

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 && spawnSync('sh', ['-c', 'command -v ipset'], { stdio: 'ignore' }).status === 0;
if (!asRoot) console.warn("skipped: the warm-up kernel's test needs root and ipset (a namespace of its own)");

describe.skipIf(!asRoot)("the warm-up's kernel", () => {
  it('answers batches as ipset would, through the live code, and changes nothing in its namespace', async () => {
    const { createWarmUpKernel } = await import('../../src/api/kernel.js');
    // A namespace of its own: were a command run for real, it would act there, never on this host.
    const ns = `ghwu-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    const kernel = createWarmUpKernel({ kind: 'netns', name: ns });
    try {
      await kernel.apply(['add -exist ghbl-drop-input-4 198.51.100.1/32 timeout 0', 'del -exist ghbl-drop-input-4 198.51.100.1/32']);
      await kernel.apply(['add -exist ghbl-drop-input-4 198.51.100.2/32 timeout 0']);
      await kernel.load([{ entry: { action: 'drop', chain: 'input', interface: 'any', family: 4, address: '198.51.100.3/32' } }]);
      await kernel.rules(['4 -A runtime-blocklist-drop -s 198.51.100.4/32 -d 192.0.2.1/32 -j DROP']);
      expect((await kernel.counters('input')).size).toBe(0);
      expect(execFileSync('ip', ['netns', 'exec', ns, 'ipset', 'list', '-n'], { encoding: 'utf8' }).trim()).toBe('');
      expect(execFileSync('ip', ['netns', 'exec', ns, 'iptables-save'], { encoding: 'utf8' })).not.toContain('runtime-blocklist');
    } finally {
      kernel.close();
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});

describe('a warm-up smaller than its concurrency', () => {
  it('sends as many requests as asked, no more', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gatehouse-warmup-small-'));
    const settings: ApiSettings = { ...apiSettings(root, {}, {}), listen: '127.0.0.1', port: 0, tls: false, warmUpRequests: 0 };
    const kernel = new RecordingKernel();
    const blocklist = new Blocklist({ root, kernel, whitelist: () => settings.whitelist });
    await blocklist.start();
    const holder: { login?: WarmUpLogin } = {};
    const app = await buildServer({ settings, blocklist, mode: { kind: 'dry-run' }, users: () => new Map(), adjust: async () => ({}), warmUp: holder, logger: false });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const result = await warmUp({ server: app.server, settings, count: 10, kernel: new RecordingKernel(), whitelist: () => [], arm: (l) => (holder.login = l), disarm: () => (holder.login = undefined) });
      expect(result.requests).toBe(10);
    } finally {
      await app.close();
      blocklist.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
