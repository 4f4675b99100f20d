/**
 * The REST API and its live blocklist (DESIGN.md: run-time side). `runApi` serves until
 * stopped; `restoreBlocklist` loads the blocklist database into the kernel (boot, and
 * `gatehouse start`) without serving. The HTTP server (fastify) is loaded only by `runApi`.
 */
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ApplyMode, formatApplyMode } from '../apply/index.js';
import { blocklistPairChainName } from '../compile/index.js';
import { GatehouseError } from '../errors/index.js';
import { makePrivateDir, runtimePaths } from '../layout/index.js';
import { Blocklist } from './blocklist.js';
import { createBlocklistKernel, createWarmUpKernel } from './kernel.js';
import { checkTlsFiles, readApiSettings, usersReader, type ApiSettings } from './settings.js';
import { isExpired, readEntries } from './store.js';
import type { WarmUpLogin, WarmUpResult } from './warmup.js';

export { type BlockEntry, type StoredEntry, EntryError, parseRfwTarget, parseNetwork, parseEntryBody, entryKey } from './entry.js';
export { Blocklist, type BlocklistOptions, type ChangeResult } from './blocklist.js';
export { type BlocklistKernel, createBlocklistKernel, addLine, delLine, loadScript } from './kernel.js';
export { type ApiSettings, apiSettings, readApiSettings, readUsers, usersReader, greenNetworks, isLoopback, API_KEY, USERS_DB, DEFAULT_PORT } from './settings.js';
export { hashPassword, verifyPassword, isPasswordHash, FailureLimiter, VerifiedLogins } from './auth.js';
export { BLOCKLIST_DB, readEntries } from './store.js';
export { makeSelfSignedCertificate, type CertificateKeyType, CERTIFICATE_KEY_TYPES } from './certificate.js';

/** Exit code of `gatehouse api` when configuration api status is not enabled (sysexits EX_CONFIG). */
export const API_DISABLED_EXIT_CODE = 78;

export interface RunningApi {
  app: FastifyInstance;
  blocklist: Blocklist;
  settings: ApiSettings;
  /** Where it listens, e.g. https://[::]:7393 */
  url: string;
  /** The warm-up once it listened (warmup.ts), or why it failed; absent with WarmUpRequests 0. */
  warmedUp?: WarmUpResult | { error: string };
  close(): Promise<void>;
}

export interface RunApiOptions {
  root: string;
  mode: ApplyMode;
  /** Overrides of the configuration (command-line flags). */
  listen?: string;
  port?: number;
  logger?: boolean | Record<string, unknown>;
  /** Serve even when configuration api status is not enabled (an explicit command-line choice). */
  force?: boolean;
}

/**
 * While an API runs it holds this lock (refreshed, so a killed API's goes stale): it owns
 * the blocklist's kernel sets then, and `gatehouse start` leaves them to it, since a
 * rebuild from the database could drop a change the API had made in the kernel and not
 * yet recorded (a block lost: a false accept). Two APIs on one root are refused.
 */
const API_LOCK_STALE_MS = 10_000;

function apiLock(root: string): { file: string; options: { realpath: false; lockfilePath: string; stale: number } } {
  const dir = runtimePaths(root).dbDir;
  if (!existsSync(dir)) makePrivateDir(dir);
  const file = join(dir, 'blocklist.api');
  return { file, options: { realpath: false, lockfilePath: `${file}.lock`, stale: API_LOCK_STALE_MS } };
}

/** Takes the running API's lock; waits out the lock of an API killed just before (stale after API_LOCK_STALE_MS; `retries` about one a second). */
export async function holdApiLock(root: string, retries = 30): Promise<() => Promise<void>> {
  const { default: lockfile } = await import('proper-lockfile');
  const { file, options } = apiLock(root);
  try {
    return await lockfile.lock(file, { ...options, retries: { retries, minTimeout: 200, maxTimeout: 1000, factor: 1.5 }, onCompromised: () => undefined });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    throw new GatehouseError(`another gatehouse api is running on this root (it holds ${options.lockfilePath})`, { hint: 'stop it first (systemctl stop gatehouse-api)' });
  }
}

/** Whether an API is running on this root (it holds the lock, refreshed within the stale time). */
export async function apiRunning(root: string): Promise<boolean> {
  const { default: lockfile } = await import('proper-lockfile');
  const { file, options } = apiLock(root);
  return lockfile.check(file, options);
}

/** Loads the blocklist and serves the API until close(). */
export async function runApi(options: RunApiOptions): Promise<RunningApi> {
  const read = await readApiSettings(options.root);
  const settings: ApiSettings = { ...read, ...(options.listen !== undefined ? { listen: options.listen } : {}), ...(options.port !== undefined ? { port: options.port } : {}) };
  if (!settings.enabled && !options.force) {
    throw new GatehouseError('the API is disabled', {
      place: { db: 'configuration', key: 'api', prop: 'status' },
      hint: 'db configuration setprop api status enabled',
      // EX_CONFIG: the unit does not restart it again and again (RestartPreventExitStatus).
      exitCode: API_DISABLED_EXIT_CODE,
    });
  }
  if (!settings.tls && !(await import('./settings.js')).isLoopback(settings.listen)) {
    throw new GatehouseError(`plain HTTP is allowed only on loopback, not on ${settings.listen}`, { hint: 'listen on 127.0.0.1 or ::1, or enable Tls' });
  }
  if (settings.tls) await checkTlsFiles(settings);
  // Before the load: a `gatehouse start` from then on leaves the sets to this API.
  const releaseLock = await holdApiLock(options.root);
  const kernel = createBlocklistKernel(options.mode);
  const whitelist = () => settings.whitelist;
  const blocklist = new Blocklist({ root: options.root, kernel, whitelist });
  try {
    await blocklist.start();
  } catch (e) {
    kernel.close();
    await releaseLock().catch(() => undefined);
    throw e;
  }
  const { buildServer } = await import('./server.js');
  let app: FastifyInstance;
  let warmedUp: WarmUpResult | { error: string } | undefined;
  const warm: { login?: WarmUpLogin } = {};
  try {
    app = await buildServer({
      settings,
      blocklist,
      mode: options.mode,
      users: usersReader(options.root),
      adjust: async () => {
        const { signalEvent } = await import('../events/index.js');
        return signalEvent({ root: options.root, event: 'firewall-adjust', applyMode: options.mode });
      },
      warmUp: warm,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    });
    await app.listen({ host: settings.listen, port: settings.port, ipv6Only: false });
    if (settings.warmUpRequests > 0) {
      const { warmUp } = await import('./warmup.js');
      warmedUp = await warmUp({
        server: app.server,
        settings,
        count: settings.warmUpRequests,
        kernel: createWarmUpKernel(options.mode),
        whitelist,
        arm: (login) => (warm.login = login),
        disarm: () => (warm.login = undefined),
      }).catch((e: unknown) => ({ error: (e as Error).message }));
    }
  } catch (e) {
    blocklist.stop();
    await releaseLock().catch(() => undefined);
    throw e;
  }
  const host = settings.listen.includes(':') ? `[${settings.listen}]` : settings.listen;
  return {
    app,
    blocklist,
    settings,
    ...(warmedUp ? { warmedUp } : {}),
    url: `${settings.tls ? 'https' : 'http'}://${host}:${settings.port}`,
    async close() {
      await app.close();
      blocklist.stop();
      await releaseLock().catch(() => undefined);
    },
  };
}

/**
 * Rebuilds the kernel's blocklist sets from the database (expired entries left out), in
 * one ipset restore: what boot and `gatehouse start` run after the firewall is applied.
 * While an API runs on the root, the sets are its own (see API_LOCK_STALE_MS): they are
 * left as they are, and `keptByApi` says so.
 */
export async function restoreBlocklist(root: string, mode: ApplyMode): Promise<{ loaded: number; where: string; keptByApi?: boolean }> {
  // The API's own lock, held during the load: an API starting meanwhile waits for it (its load then comes after this one).
  const release = mode.kind === 'dry-run' ? async () => undefined : await holdApiLock(root, 0).catch((e: unknown) => {
    if (e instanceof GatehouseError && e.message.startsWith('another gatehouse api is running')) return undefined;
    throw e;
  });
  if (!release) {
    const now = Math.floor(Date.now() / 1000);
    return { loaded: (await readEntries(root)).entries.filter((e) => !isExpired(e, now)).length, where: formatApplyMode(mode), keptByApi: true };
  }
  try {
    return await loadBlocklist(root, mode);
  } finally {
    await release().catch(() => undefined);
  }
}

async function loadBlocklist(root: string, mode: ApplyMode): Promise<{ loaded: number; where: string }> {
  const read = await readEntries(root);
  if (read.invalid.length > 0) {
    throw new GatehouseError(`the blocklist database holds ${read.invalid.length} invalid record(s), first ${read.invalid[0]}`, { hint: 'fix or delete them with `db blocklist ...`' });
  }
  const now = Math.floor(Date.now() / 1000);
  const live = read.entries.filter((e) => !isExpired(e, now));
  const kernel = createBlocklistKernel(mode);
  await kernel.load(live.map((entry) => ({ entry, ...(entry.expires !== undefined ? { timeout: entry.expires - now, expires: entry.expires } : {}) })));
  kernel.close();
  return { loaded: live.length, where: formatApplyMode(mode) };
}

export interface BlocklistStatus {
  /** Entries in force in the database (expired ones left out). */
  database: number;
  /** Set name -> elements the kernel holds; undefined when the kernel was not read (dry-run). */
  kernel?: Record<string, number>;
}

/** What `gatehouse status` shows of the blocklist: database entries and each kernel set's size. */
export async function blocklistStatus(root: string, mode: ApplyMode): Promise<BlocklistStatus> {
  const now = Math.floor(Date.now() / 1000);
  const database = (await readEntries(root)).entries.filter((e) => !isExpired(e, now)).length;
  if (mode.kind === 'dry-run') return { database };
  const { createKernelRunner } = await import('../apply/index.js');
  const runner = createKernelRunner(mode);
  const text = await runner.run({ step: 'ipset list -t (blocklist sizes)', command: 'ipset', args: ['list', '-t'] }).catch(() => '');
  const kernel: Record<string, number> = {};
  let name: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Name: ')) name = line.slice(6).trim();
    else if (line.startsWith('Number of entries: ') && name?.startsWith('ghbl-') && !name.startsWith('ghbl-next-')) kernel[name] = Number(line.slice(19));
  }
  // Forward pairs are rules in the run-time chains.
  for (const [command, family] of [['iptables', 4], ['ip6tables', 6]] as const) {
    for (const action of ['drop', 'accept'] as const) {
      const chain = blocklistPairChainName(action);
      const rules = await runner.run({ step: `${command} -S ${chain}`, command, args: ['-w', '-S', chain] }).catch(() => undefined);
      if (rules !== undefined) kernel[`${chain} (IPv${family} pairs)`] = rules.split('\n').filter((l) => l.startsWith('-A ')).length;
    }
  }
  return { database, kernel };
}

export function formatBlocklistStatus(status: BlocklistStatus): string {
  const sets = status.kernel === undefined ? 'kernel not read (dry-run)' : Object.keys(status.kernel).length === 0 ? 'no blocklist sets in the kernel' : Object.entries(status.kernel).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ') || 'all blocklist sets empty';
  return `blocklist: ${status.database} entries in the database; ${sets}\n`;
}
