/**
 * The warm-up at start (configuration api `WarmUpRequests`, default settings.ts's
 * WARM_UP_REQUESTS; 0: none).
 *
 * V8 runs a new process's code in its interpreter and compiles a function to machine code
 * only once it has run many times. A freshly started API spent three to five times the CPU
 * per request of a warmed one (about 500 µs against 100 µs, TLS included), so a burst of
 * blocks right after a start or a reboot reached the kernel several times later.
 *
 * So, once it listens, the API sends itself requests over loopback, through its own server:
 * the very objects real requests meet (fastify makes its request and reply classes per
 * instance, so a twin server would warm other ones). The warm-up logs in as a user that
 * exists only in memory for the warm-up's length (a random name and password), and the
 * server sends that user's changes to a blocklist of their own (see server.ts): the live
 * kernel code with a shell for ipset that only answers prompts (kernel.ts's
 * createWarmUpKernel) and a private temporary database. Nothing reaches the kernel, the
 * blocklist database or the log. The warm-up takes the paths real requests take (the same
 * login check, the same whitelist function, a status request on each connection as fleets'
 * health checks make), since code V8 made for other objects or other functions is thrown
 * away when real traffic meets it. Real requests meanwhile are served as always, only more
 * slowly.
 *
 * A warm-up that fails (no loopback in this namespace, say) is reported and the API serves
 * anyway: only its first requests are slower.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { hashPassword } from './auth.js';
import { Blocklist } from './blocklist.js';
import type { BlocklistKernel } from './kernel.js';
import type { ApiSettings } from './settings.js';

/** The warm-up's login while it runs, and the blocklist its requests reach (server.ts). */
export interface WarmUpLogin {
  user: string;
  /** Its scrypt hash: checked as every login is, so the warm-up runs the same code. */
  hash: string;
  /** The users the server checks its login against: this one alone (the same kind of Map as usersReader's). */
  users: Map<string, string>;
  blocklist: Blocklist;
}

/** Requests in flight at once: bursts, as fleets send them (several requests per kernel batch). */
const CONCURRENCY = 50;

/** The longest a warm-up may take (a loaded machine): the API then goes on as it is. */
const WARM_UP_LIMIT_MS = 20_000;

/**
 * The paths asked for: rfw's single-address forms on each chain, both families, with and
 * without an interface or an expiry, so each branch of the parsing runs. Addresses of the
 * documentation ranges (RFC 5737, 3849).
 */
export function warmUpPath(i: number): string {
  const chain = ['input', 'forward', 'output'][i % 3]!;
  const where = i % 5 === 0 ? 'eth0' : 'any';
  const address = i % 4 === 0 ? `2001:db8::${(i % 4096).toString(16)}` : `198.51.100.${i % 250}`;
  const expire = i % 7 === 0 ? '?expire=600' : '';
  return `/drop/${chain}/${where}/${address}${expire}`;
}

/**
 * Where the warm-up connects, from a loopback address (always an allowed client): the
 * listening address itself, or loopback when it listens on every address.
 */
function target(listen: string): { host: string; localAddress: string } {
  if (listen === '::' || listen === '0.0.0.0') return { host: '127.0.0.1', localAddress: '127.0.0.1' };
  const v6 = ipaddr.isValid(listen) && ipaddr.parse(listen).kind() === 'ipv6';
  return { host: listen, localAddress: v6 ? '::1' : '127.0.0.1' };
}

export interface WarmUpResult {
  requests: number;
  ms: number;
}

export interface WarmUpOptions {
  server: { address(): AddressInfo | string | null };
  settings: ApiSettings;
  count: number;
  /** The warm-up blocklist's kernel: kernel.ts's createWarmUpKernel (the live code, touching nothing). */
  kernel: BlocklistKernel;
  /** The live blocklist's own whitelist function: the same function object, so V8's code for it fits both. */
  whitelist: () => readonly string[];
  /** Hands the warm-up's login to the server; `disarm` takes it back, whatever happens. */
  arm: (login: WarmUpLogin) => void;
  disarm: () => void;
}

/** Sends the listening server `count` requests as the warm-up's login: a status request per connection, then PUTs and DELETEs of the same paths, CONCURRENCY at a time. */
export async function warmUp(options: WarmUpOptions): Promise<WarmUpResult> {
  const { server, settings, count, arm, disarm } = options;
  const started = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-api-warm-up-'));
  // Options of the same shape, and the same functions, as the live blocklist's (runApi), so the machine code made here fits it.
  const blocklist = new Blocklist({ root, kernel: options.kernel, whitelist: options.whitelist });
  const tls = settings.tls;
  const agent = tls ? new HttpsAgent({ keepAlive: true, maxSockets: CONCURRENCY }) : new HttpAgent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    await blocklist.start();
    const user = `warm-up-${randomBytes(6).toString('hex')}`;
    const password = randomBytes(18).toString('base64');
    const hash = await hashPassword(password);
    arm({ user, hash, users: new Map([[user, hash]]), blocklist });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the server does not listen on a TCP port');
    const authorization = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
    // The API's own certificate, reached over loopback: there is nothing to authenticate.
    const base: RequestOptions = { ...target(settings.listen), port: address.port, agent, headers: { authorization }, rejectUnauthorized: false };
    const send = (method: string, path: string) =>
      new Promise<void>((resolve, reject) => {
        const request = (tls ? httpsRequest : httpRequest)({ ...base, method, path }, (response) => {
          response.resume();
          response.on('end', () => (response.statusCode === 200 || response.statusCode === 409 ? resolve() : reject(new Error(`${method} ${path.split('?')[0]!}: HTTP ${String(response.statusCode)}`))));
        });
        request.on('error', reject);
        request.end();
      });
    // Each round's requests all settle before the next round or the end (a failure too): none is left in flight
    // when the login is disarmed and the warm-up's blocklist stopped.
    const round = async (requests: Promise<void>[]) => {
      const failed = (await Promise.allSettled(requests)).find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    };
    // A status request on each connection first, as fleets' health checks make.
    let sent = Math.min(CONCURRENCY, count);
    await round(Array.from({ length: sent }, () => send('GET', '/v1/status')));
    while (sent < count && performance.now() - started < WARM_UP_LIMIT_MS) {
      const paths = Array.from({ length: Math.max(1, Math.min(CONCURRENCY, Math.floor((count - sent) / 2))) }, (_, k) => warmUpPath(sent + k));
      await round(paths.map((p) => send('PUT', p)));
      await round(paths.map((p) => send('DELETE', p.split('?')[0]!)));
      sent += paths.length * 2;
    }
    return { requests: sent, ms: performance.now() - started };
  } finally {
    disarm();
    agent.destroy();
    blocklist.stop();
    await rm(root, { recursive: true, force: true });
  }
}
