/**
 * The API's settings: the `api` record of the `configuration` database (validated by its
 * schema when written; checked again here as a whole), its users (`apiusers`), and the
 * whitelist built from the administrator's list, the green networks and the API's own
 * allowed clients.
 */
import { type BigIntStats, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { type Database, databaseFile, getProp, getRecord, readDatabase } from '../db/index.js';
import { GatehouseError } from '../errors/index.js';
import { canonicalNetwork } from './entry.js';

export const API_KEY = 'api';
export const USERS_DB = 'apiusers';
/** rfw's TLS port. */
export const DEFAULT_PORT = 7393;
/** The warm-up's default size (warmup.ts): bench api's CPU per request stops falling after about this many. */
export const WARM_UP_REQUESTS = 4000;

export interface ApiSettings {
  enabled: boolean;
  listen: string;
  port: number;
  tls: boolean;
  certificate: string;
  key: string;
  /** Networks whose clients may connect (loopback always may). */
  allowedClients: string[];
  /** Networks that can never be dropped. */
  whitelist: string[];
  failureLimit: number;
  failureWindowSeconds: number;
  /** Requests the API sends itself through a twin before listening (warmup.ts); 0: none. */
  warmUpRequests: number;
}

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

export function isLoopback(address: string): boolean {
  if (!ipaddr.isValid(address)) return address === 'localhost';
  const ip = ipaddr.process(address);
  return ip.range() === 'loopback';
}

function list(text: string | undefined, place: { db: string; key: string; prop: string }): string[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((item) => {
    try {
      return canonicalNetwork(item);
    } catch {
      throw new GatehouseError(`'${item.trim()}' is not an address or network`, { place, hint: 'a comma list such as 198.51.100.10,203.0.113.0/24,2001:db8::/48' });
    }
  });
}

function integer(text: string | undefined, fallback: number, min: number, max: number, prop: string): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new GatehouseError(`'${text}' is not valid`, { place: { db: 'configuration', key: API_KEY, prop }, hint: `a whole number from ${min} to ${max}` });
  }
  return n;
}

export function apiSettings(root: string, configuration: Database, networks: Database): ApiSettings {
  const rec = getRecord(configuration, API_KEY);
  const prop = (name: string): string | undefined => (rec ? getProp(rec, name) : undefined);
  const place = (p: string) => ({ db: 'configuration', key: API_KEY, prop: p });
  const listen = prop('ListenAddress') || '::';
  if (listen !== '::' && listen !== '0.0.0.0' && !ipaddr.isValid(listen)) {
    throw new GatehouseError(`'${listen}' is not an address to listen on`, { place: place('ListenAddress'), hint: 'an address of this machine, :: or 0.0.0.0' });
  }
  const tls = (prop('Tls') || 'enabled') !== 'disabled';
  if (!tls && !isLoopback(listen)) {
    throw new GatehouseError('plain HTTP is allowed only on loopback', {
      place: place('Tls'),
      hint: 'set ListenAddress to 127.0.0.1 or ::1, or keep Tls enabled',
    });
  }
  const allowed = [...LOOPBACK, ...list(prop('AllowedClients'), place('AllowedClients'))];
  return {
    enabled: prop('status') === 'enabled',
    listen,
    port: integer(prop('TCPPort'), DEFAULT_PORT, 1, 65535, 'TCPPort'),
    tls,
    certificate: prop('Certificate') || join(root, 'etc/gatehouse/api/tls.crt'),
    key: prop('CertificateKey') || join(root, 'etc/gatehouse/api/tls.key'),
    allowedClients: allowed,
    whitelist: [...new Set([...LOOPBACK, ...list(prop('Whitelist'), place('Whitelist')), ...greenNetworks(networks), ...allowed])],
    failureLimit: integer(prop('AuthFailureLimit'), 5, 1, 1000, 'AuthFailureLimit'),
    failureWindowSeconds: integer(prop('AuthFailureWindow'), 60, 1, 86_400, 'AuthFailureWindow'),
    warmUpRequests: integer(prop('WarmUpRequests'), WARM_UP_REQUESTS, 0, 100_000, 'WarmUpRequests'),
  };
}

/** The networks of green interfaces, IPv4 and IPv6. */
export function greenNetworks(networks: Database): string[] {
  const out: string[] = [];
  for (const key of Object.keys(networks)) {
    const rec = networks[key]!;
    if (getProp(rec, 'role') !== 'green') continue;
    const address = getProp(rec, 'ipaddr');
    const mask = getProp(rec, 'netmask');
    if (address && mask && ipaddr.IPv4.isValid(address) && ipaddr.IPv4.isValid(mask)) {
      try {
        const prefix = ipaddr.IPv4.parse(mask).prefixLengthFromSubnetMask();
        if (prefix !== null) out.push(canonicalNetwork(`${address}/${prefix}`));
      } catch {
        // An invalid mask is the db schema's to refuse; the address alone is still green.
        out.push(canonicalNetwork(address));
      }
    }
    const address6 = getProp(rec, 'ip6addr');
    if (address6) {
      try {
        out.push(canonicalNetwork(address6.includes('/') ? address6 : `${address6}/64`));
      } catch {
        // Not an IPv6 network: nothing to whitelist from it.
      }
    }
  }
  return out;
}

export async function readApiSettings(root: string): Promise<ApiSettings> {
  const [configuration, networks] = await Promise.all([readDatabase(root, 'configuration'), readDatabase(root, 'networks')]);
  return apiSettings(root, configuration, networks);
}

/** The users and their password hashes (enabled users only). */
export async function readUsers(root: string): Promise<Map<string, string>> {
  const db = await readDatabase(root, USERS_DB);
  const users = new Map<string, string>();
  for (const key of Object.keys(db)) {
    const rec = db[key]!;
    if (rec.type !== 'user' || getProp(rec, 'status') === 'disabled') continue;
    const hash = getProp(rec, 'PasswordHash');
    if (hash) users.set(key, hash);
  }
  return users;
}

/**
 * `readUsers` for every request, without reading the file every time: the users are
 * read again whenever the apiusers file is another one (the db layer writes by atomic
 * rename: a new inode and new times) or appears or goes. One stat per round of I/O,
 * synchronous (microseconds), instead of a whole read per request through the thread
 * pool, which made a burst of 100 logins wait for 100 file reads.
 *
 * File times come from a coarse clock and inode numbers are reused, so two writes in
 * the same clock step could leave inode, size and times alike ("racy git"): a read is
 * trusted only once the file is older than RACY_MS; until then every request reads it.
 */
export function usersReader(root: string): () => Map<string, string> | Promise<Map<string, string>> {
  const file = databaseFile(root, USERS_DB);
  // `read`: the users once the read is done, handed out as they are (a login already verified is then checked synchronously).
  let known: { version: string; users: Promise<Map<string, string>>; read?: Map<string, string> } | undefined;
  // One stat per round of I/O: every request handled in a round had arrived before the round began, so a stat made
  // during the round is later than each of them, as one made for each request would be.
  let round: { now: number; info: BigIntStats | undefined } | undefined;
  return () => {
    if (!round) {
      round = { now: Date.now(), info: statSync(file, { bigint: true, throwIfNoEntry: false }) };
      setImmediate(() => (round = undefined));
    }
    const { now, info } = round;
    const version = info ? `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}` : 'absent';
    if (known?.version === version) return known.read ?? known.users;
    const users = readUsers(root);
    const settled = !info || now - Number(info.mtimeNs / 1_000_000n) > RACY_MS;
    // Trusted from now on: any later write has a later mtime. A write during the read changes the version again.
    const entry: typeof known = settled ? { version, users } : undefined;
    known = entry;
    users.then(
      (read) => {
        if (entry) entry.read = read;
      },
      () => {
        if (known?.users === users) known = undefined;
      },
    );
    return users;
  };
}

/** Far more than the step of the clock file times come from (a jiffy, at most 10 ms). */
const RACY_MS = 1000;

/** Root loads the key: it must be readable by root alone, and neither file writable by others. */
export async function checkTlsFiles(settings: ApiSettings): Promise<void> {
  for (const [file, what, mask] of [
    [settings.certificate, 'certificate', 0o022],
    [settings.key, 'private key', 0o077],
  ] as const) {
    const info = await stat(file).catch(() => undefined);
    if (!info) {
      throw new GatehouseError(`the TLS ${what} ${file} does not exist`, {
        place: { db: 'configuration', key: API_KEY, prop: what === 'certificate' ? 'Certificate' : 'CertificateKey' },
        hint: 'make a self-signed pair with `gatehouse api --make-cert`, or point the prop at yours',
      });
    }
    if ((info.mode & mask) !== 0) {
      throw new GatehouseError(`the TLS ${what} ${file} has mode ${(info.mode & 0o777).toString(8)}: ${what === 'certificate' ? 'others may write it' : 'others may read it'}`, {
        hint: `chmod ${what === 'certificate' ? '644' : '600'} ${file}`,
      });
    }
  }
}
