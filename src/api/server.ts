/**
 * The HTTP API (fastify): rfw's paths and meaning, and a JSON API under /v1.
 *
 *   PUT|DELETE /<drop|accept>/<input|output|forward>/<interface|any|ppp>/<address>[/<prefix>][?expire=SECONDS]
 *   PUT|DELETE /<drop|accept>/forward/<interface>/<address>[/<prefix>]/<interface2>/<address2>[/<prefix2>][?expire=SECONDS]
 *   GET        /list/<input|output|forward>           rfw's JSON list of the chain's entries, with their packet and byte counters
 *   GET        /v1                                    this list of endpoints
 *   GET        /v1/status                             entries per set, batches, settings in force
 *   GET        /v1/blocklist[?action=&chain=]         entries, with their expiry
 *   POST       /v1/blocklist                          {"address", "action"?, "chain"?, "interface"?, "expire"?}
 *   DELETE     /v1/blocklist/<action>/<chain>/<interface>/<address>[/<prefix>]
 *   POST       /v1/events/firewall-adjust             runs the event, answers with its actions
 *
 * Every request passes, in order: the client address check (403), the failed-login
 * limit (429), HTTP basic authentication (401). Bad input is a 4xx with a one-line
 * `{"error": ...}`.
 */
import { readFile } from 'node:fs/promises';
import basicAuth from '@fastify/basic-auth';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { type ApplyMode, formatApplyMode } from '../apply/index.js';
import { describeError, isGatehouseError } from '../errors/index.js';
import { FailureLimiter, VerifiedLogins } from './auth.js';
import { type Blocklist } from './blocklist.js';
import {
  type BlockAction,
  type BlockChain,
  type StoredEntry,
  EntryError,
  parseAction,
  parseChain,
  parseEntryBody,
  parseExpire,
  parseRfwTarget,
} from './entry.js';
import type { Counters } from './kernel.js';
import { type ApiSettings } from './settings.js';
import { TRACING, now as traceNow, trace } from './trace.js';
import type { WarmUpLogin } from './warmup.js';

export interface ServerOptions {
  settings: ApiSettings;
  blocklist: Blocklist;
  /**
   * The users' password hashes, read at each login so `gatehouse api --passwd` needs no
   * restart: a Map when known without waiting (a login already verified is then let
   * through synchronously), else a promise of it.
   */
  users: () => Map<string, string> | Promise<Map<string, string>>;
  /** Runs `signal-event firewall-adjust` for /v1/events/firewall-adjust. */
  adjust: () => Promise<unknown>;
  mode: ApplyMode;
  /** pino options or false; default: warnings and errors as JSON lines on stdout. */
  logger?: boolean | Record<string, unknown>;
  /**
   * The warm-up at start (warmup.ts) sets `login` while it runs: that user may make rfw's PUT
   * and DELETE, which go to its own blocklist, never to `blocklist`, and read GET /v1/status.
   */
  warmUp?: { login?: WarmUpLogin | undefined };
}

const ENDPOINTS = [
  'PUT|DELETE /<drop|accept>/<input|output|forward>/<interface|any|ppp>/<address>[/<prefix>][?expire=SECONDS]',
  'PUT|DELETE /<drop|accept>/forward/<interface|any|ppp>/<address>[/<prefix>]/<interface2|any|ppp>/<address2>[/<prefix2>][?expire=SECONDS]',
  'GET /list/<input|output|forward>',
  'GET /v1/status',
  'GET /v1/blocklist[?action=drop|accept&chain=input|output|forward]',
  'POST /v1/blocklist {"address": "203.0.113.7", "action": "drop", "chain": "input", "interface": "any", "expire": 600} (a forward pair: also "toInterface", "toAddress")',
  'DELETE /v1/blocklist/<action>/<chain>/<interface>/<address>[/<prefix>]',
  'POST /v1/events/firewall-adjust',
];

type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * The client address check, made once per connection (a socket's peer never changes),
 * against networks parsed once: a burst of requests on open connections pays a WeakMap
 * lookup each, not an address parse per allowed network.
 */
export class ClientCheck {
  private readonly networks: Network[];
  private readonly bySocket = new WeakMap<object, { client: string; allowed: boolean }>();

  constructor(networks: readonly string[]) {
    this.networks = networks.map((n) => ipaddr.parseCIDR(n));
  }

  of(socket: { remoteAddress?: string | undefined }): { client: string; allowed: boolean } {
    let known = this.bySocket.get(socket);
    if (!known) {
      known = this.check(socket.remoteAddress ?? '');
      this.bySocket.set(socket, known);
    }
    return known;
  }

  check(raw: string): { client: string; allowed: boolean } {
    if (!ipaddr.isValid(raw)) return { client: raw, allowed: false };
    const ip = ipaddr.process(raw);
    return { client: ip.toString(), allowed: this.networks.some(([net, prefix]) => net.kind() === ip.kind() && ip.match(net, prefix)) };
  }
}

/** An entry as /v1 shows it. */
function entryJson(e: StoredEntry, now: number) {
  return {
    key: e.key,
    action: e.action,
    chain: e.chain,
    interface: e.interface,
    address: e.address,
    ...(e.to ? { toInterface: e.to.interface, toAddress: e.to.address } : {}),
    family: e.family,
    created: new Date(e.created * 1000).toISOString(),
    expires: e.expires === undefined ? null : new Date(e.expires * 1000).toISOString(),
    expiresIn: e.expires === undefined ? null : Math.max(0, e.expires - now),
  };
}

/** An entry as rfw's `GET /list/<chain>` shows an iptables rule, with its kernel counters (0 when the kernel shows none). */
function rfwRow(e: StoredEntry, num: number, now: number, counters: Counters | undefined) {
  const anywhere = e.family === 4 ? '0.0.0.0/0' : '::/0';
  const iface = e.interface === 'any' ? '*' : e.interface;
  const out = e.chain === 'output';
  const toIface = e.to === undefined || e.to.interface === 'any' ? '*' : e.to.interface;
  return {
    chain: e.chain.toUpperCase(),
    num: String(num),
    pkts: String(counters?.packets ?? 0),
    bytes: String(counters?.bytes ?? 0),
    target: e.action.toUpperCase(),
    prot: 'all',
    opt: '--',
    inp: out ? '*' : iface,
    out: out ? iface : toIface,
    source: out ? anywhere : e.address,
    destination: out ? e.address : (e.to?.address ?? anywhere),
    extra: e.expires === undefined ? '' : `expires in ${Math.max(0, e.expires - now)}s`,
  };
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { settings, blocklist } = options;
  const https = settings.tls ? { key: await readFile(settings.key), cert: await readFile(settings.certificate) } : null;
  const app = Fastify({
    // Warnings and errors only: each request is not worth a line at fleet rates; refusals and failures are logged.
    logger: options.logger ?? { level: 'warn' },
    // fastify's own line per request (and one per answer) would be below the level anyway: not even called.
    logController: new LogController({ disableRequestLogging: true }),
    // Every request's logger is the server's: pino made a child per request (a copy of its bindings) only to add a
    // request id to lines that are rare here (refusals, failures), each of which names its client.
    childLoggerFactory: (logger) => logger,
    bodyLimit: 4096,
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;
  const limiter = new FailureLimiter(settings.failureLimit, settings.failureWindowSeconds);
  const logins = new VerifiedLogins();
  const clients = new ClientCheck(settings.allowedClients);
  const now = blocklist.now;

  /** A login not verified yet (or no longer): scrypt, then counted as a failure if wrong. */
  const verify = async (user: string, password: string, request: FastifyRequest, users: Map<string, string> | Promise<Map<string, string>>): Promise<Error | undefined> => {
    const ok = await logins.check(user, password, (await users).get(user));
    if (ok) return undefined;
    const { client } = clients.of(request.socket);
    const count = limiter.fail(client);
    request.log.warn({ client, user: user.slice(0, 64), failures: count }, 'authentication failed');
    return new Error('wrong user or password');
  };
  /** What the warm-up's login may ask: rfw's PUT and DELETE (sent to its own blocklist), and GET /v1/status (read only). */
  const warmUpMay = (request: FastifyRequest) =>
    ((request.method === 'PUT' || request.method === 'DELETE') && /^\/(drop|accept)\//.test(request.url)) || (request.method === 'GET' && request.url === '/v1/status');
  /** Requests of the warm-up's login, and the blocklist they reach: its own, held from the login on, so a request read before the warm-up ends never reaches the live one. */
  const warmUpRequests = new WeakMap<FastifyRequest, Blocklist>();
  await app.register(basicAuth, {
    authenticate: { realm: 'gatehouse' },
    // Callback style: a login verified before (against the user's hash of now) goes on at once, without a promise;
    // any other is verified with scrypt. The warm-up's login (warmup.ts) takes the same path against its own users,
    // so the warm-up runs the code real logins run (warmUpMay says what it may ask).
    validate(user, password, request, _reply, done) {
      const warm = options.warmUp?.login;
      const warming = warm !== undefined && user === warm.user;
      if (warming && !warmUpMay(request)) return done(new Error('wrong user or password'));
      const users = warming ? warm.users : options.users();
      if (users instanceof Map && logins.known(user, password, users.get(user))) {
        if (warming) warmUpRequests.set(request, warm.blocklist);
        return done();
      }
      void verify(user, password, request, users).then((error) => {
        if (warming && error === undefined) warmUpRequests.set(request, warm.blocklist);
        done(error);
      }, done);
    },
  });
  const basicAuthHook = app.basicAuth as (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

  // The checks every request passes, in order, in one synchronous hook: client address (403), failed-login limit
  // (429), HTTP basic authentication (401).
  app.addHook('onRequest', (request, reply, done) => {
    const { client, allowed } = clients.of(request.socket);
    if (!allowed) {
      request.log.warn({ client }, 'refused: client address not allowed');
      void reply.code(403).send({ error: `client ${client} is not allowed (configuration api AllowedClients)` });
      return;
    }
    const wait = limiter.blockedFor(client);
    if (wait > 0) {
      void reply
        .code(429)
        .header('retry-after', String(wait))
        .send({ error: `too many failed logins from ${client}; try again in ${wait}s` });
      return;
    }
    basicAuthHook.call(app, request, reply, done);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof EntryError) return reply.code(error.status).send({ error: error.message });
    const status = error.statusCode ?? (isGatehouseError(error) ? 503 : 500);
    if (status === 401) return reply.code(401).send({ error: 'wrong user or password (HTTP basic authentication)' });
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message = describeError(error).split('\n')[0]!.replace(/^FST_\w+: /, '');
    return reply.code(status).send({ error: message });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const known = /^\/(drop|accept)\/(input|output|forward)\//.test(path) || /^\/(list\/|v1)/.test(path);
    if (known) return reply.code(405).send({ error: `${request.method} is not allowed on ${path.slice(0, 80)} (see GET /v1)` });
    return reply.code(404).send({ error: `no such path ${path.slice(0, 80)} (see GET /v1)` });
  });

  const change = async (request: FastifyRequest, method: 'PUT' | 'DELETE', action: BlockAction, chain: BlockChain, rest: string, expireText: string | undefined) => {
    const entry = parseRfwTarget(action, chain, rest);
    const blocklist = warmUpRequests.get(request) ?? options.blocklist;
    if (method === 'DELETE') {
      if (expireText !== undefined) throw new EntryError('expire only goes with PUT');
      const r = await blocklist.remove(entry);
      return { result: r.changed ? 'deleted' : 'absent', changed: r.changed, ...(r.entry ? { entry: entryJson(r.entry, now()) } : {}) };
    }
    const r = await blocklist.add(entry, parseExpire(expireText));
    return { result: r.changed ? 'added' : 'exists', changed: r.changed, entry: entryJson(r.entry!, now()) };
  };

  const query = (request: FastifyRequest): Record<string, string | undefined> => {
    const q = (request.query ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(q)) {
      if (typeof v !== 'string') throw new EntryError(`query parameter '${k.slice(0, 20)}' is given more than once`);
    }
    return q as Record<string, string | undefined>;
  };

  for (const method of ['PUT', 'DELETE'] as const) {
    app.route({
      method,
      url: '/:action/:chain/*',
      handler: async (request) => {
        // GATEHOUSE_TRACE_REQUESTS (bench api): when the handler began, one clock read; the warm-up's are not the benchmark's.
        if (TRACING && !warmUpRequests.has(request)) trace('request', { method, url: request.url, received: String(traceNow()) });
        const params = request.params as { action: string; chain: string; '*': string };
        const q = query(request);
        const unknown = Object.keys(q).filter((k) => k !== 'expire');
        if (unknown.length > 0) throw new EntryError(`unknown query parameter '${unknown[0]!.slice(0, 20)}' (valid: expire)`);
        return change(request, method, parseAction(params.action), parseChain(params.chain), params['*'], q['expire']);
      },
    });
  }

  app.get('/list/:chain', async (request) => {
    const chain = parseChain((request.params as { chain: string }).chain);
    const counters = await blocklist.counters(chain);
    const t = now();
    return blocklist.list((e) => e.chain === chain).map((e, i) => rfwRow(e, i + 1, t, counters.get(e.key)));
  });

  app.get('/v1', async () => ({ endpoints: ENDPOINTS }));

  app.get('/v1/status', async () => ({
    blocklist: blocklist.stats(),
    mode: formatApplyMode(options.mode),
    listen: { address: settings.listen, port: settings.port, tls: settings.tls },
    whitelist: settings.whitelist,
  }));

  app.get('/v1/blocklist', async (request) => {
    const q = query(request);
    const action = q['action'] === undefined ? undefined : parseAction(q['action']);
    const chain = q['chain'] === undefined ? undefined : parseChain(q['chain']);
    const t = now();
    return { entries: blocklist.list((e) => (action === undefined || e.action === action) && (chain === undefined || e.chain === chain)).map((e) => entryJson(e, t)) };
  });

  app.post('/v1/blocklist', async (request, reply) => {
    const { entry, expire } = parseEntryBody(request.body);
    const r = await blocklist.add(entry, expire);
    reply.code(r.changed ? 201 : 200);
    return { changed: r.changed, entry: entryJson(r.entry!, now()) };
  });

  app.delete('/v1/blocklist/:action/:chain/*', async (request) => {
    const params = request.params as { action: string; chain: string; '*': string };
    const r = await blocklist.remove(parseRfwTarget(parseAction(params.action), parseChain(params.chain), params['*']));
    return { changed: r.changed };
  });

  app.post('/v1/events/firewall-adjust', async () => ({ event: 'firewall-adjust', report: await options.adjust() }));

  return app;
}
