// HTTPS clients for bench/api.ts, one connection each (keep-alive, opened before the
// measure as a fleet's are). Several of these processes stand for a fleet of machines:
// one Node thread serialising and encrypting 100 requests is itself a bottleneck.
// Reads one JSON command per line on stdin and answers each with one JSON line.
//   {"op":"open","count":N,"path":P,"kind":K}  opens N connections (a GET of P on each); K: "https"
//                                       (node:https, the default) or "undici" (undici's Client, one
//                                       per connection: less client CPU on this machine, as a fleet's
//                                       clients cost the gateway nothing)
//   {"op":"warm","port":P,"count":N,"rounds":R,"kind":K}  warms this process against another server
//                                       (see warm below)
//   {"op":"fire","method":M,"paths":[...],"fresh":B}  one request per path, all at once, one per
//                                       connection (fresh: each on a new connection, a full TLS
//                                       handshake, as curl run per request does);
//                                       per path: when the request was made (call), when its
//                                       bytes were about to be written to its socket (sending:
//                                       node writes them right after the 'socket' event; for a
//                                       fresh connection, before it connects), when
//                                       they had been (written), when the answer had arrived
//                                       (answered), and the status
// Argument: a JSON object {host, port, auth}. Times are process.hrtime.bigint() in ns, as strings.
import { Agent, request } from 'node:https';
import { createInterface } from 'node:readline';
import { Client } from 'undici';

const { host, port, auth } = JSON.parse(process.argv[2]);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

/**
 * The connections requests go over: node:https's keep-alive agent, or undici's Clients (one per
 * connection, used in turn). `fresh` (https only): each request on a new connection.
 */
function connections(kind, count, to = port) {
  const agent = kind === 'https' ? new Agent({ keepAlive: true, maxSockets: count }) : undefined;
  const clients = kind === 'undici' ? Array.from({ length: count }, () => new Client(`https://${host}:${to}`, { connect: { rejectUnauthorized: false }, pipelining: 1 })) : [];
  let next = 0;
  return {
    kind,
    /** From the first connection again (a burst sends one request per connection). */
    rewind: () => (next = 0),
    call(method, path, fresh = false) {
      const t = { call: String(process.hrtime.bigint()), sending: '', written: '', answered: '', status: 0 };
      if (kind === 'undici') {
        // undici writes the request on the same turn: the sending time is the call's.
        t.sending = t.call;
        return clients[next++ % clients.length].request({ method, path, headers: { authorization: auth } }).then(async (res) => {
          await res.body.dump();
          t.answered = String(process.hrtime.bigint());
          t.status = res.statusCode;
          return t;
        });
      }
      return new Promise((resolve, reject) => {
        const req = request({ host, port: to, method, path, agent: fresh ? false : agent, rejectUnauthorized: false, headers: { authorization: auth } }, (res) => {
          res.resume();
          res.on('end', () => {
            t.answered = String(process.hrtime.bigint());
            t.status = res.statusCode ?? 0;
            resolve(t);
          });
        });
        req.on('socket', () => (t.sending = String(process.hrtime.bigint())));
        // 'finish': the whole request (encrypted) has been handed to the kernel's socket.
        req.on('finish', () => (t.written = String(process.hrtime.bigint())));
        req.on('error', reject);
        req.end();
      });
    },
    async close() {
      agent?.destroy();
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

/** The API's connections, once opened. */
let api;

/**
 * Warms this process's code (V8 optimises a function only after many runs): `rounds` bursts of
 * PUTs and DELETEs on `count` connections to another server (the benchmark's own), so the
 * clients, stand-ins for a fleet whose machines cost the gateway nothing, take as little of
 * its CPU as they can; the API itself sees none of it.
 */
async function warm(m) {
  const paths = Array.from({ length: m.count }, (_, i) => `/drop/forward/any/192.0.2.${i}`);
  const c = connections(m.kind ?? 'https', m.count, m.port);
  for (let r = 0; r < m.rounds; r++) {
    for (const method of ['PUT', 'DELETE']) {
      c.rewind();
      await Promise.all(paths.map((p) => c.call(method, p)));
    }
  }
  await c.close();
}

createInterface({ input: process.stdin }).on('line', async (line) => {
  const m = JSON.parse(line);
  try {
    if (m.op === 'warm') {
      await warm(m);
      say({ ok: true });
      return;
    }
    if (m.op === 'open') {
      await api?.close();
      api = connections(m.kind ?? 'https', m.count);
      const r = await Promise.all(Array.from({ length: m.count }, () => api.call('GET', m.path)));
      say({ ok: true, statuses: r.map((t) => t.status) });
    } else if (m.op === 'fire') {
      if (m.fresh && api.kind !== 'https') throw new Error('a new connection per request is node:https only here');
      api.rewind();
      const r = await Promise.all(m.paths.map((p) => api.call(m.method, p, Boolean(m.fresh))));
      say({ ok: true, results: Object.fromEntries(m.paths.map((p, i) => [p, r[i]])) });
    }
  } catch (e) {
    say({ ok: false, error: String(e) });
  }
});
say({ ready: true });
