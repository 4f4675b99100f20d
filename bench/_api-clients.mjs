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
//                                       per path: when the burst began in this process (call,
//                                       the same for all its requests), when its
//                                       bytes were about to be written to its socket (sending:
//                                       node writes them right after the 'socket' event; for a
//                                       fresh connection, before it connects), when
//                                       they had been (written), when the answer had arrived
//                                       (answered), and the status
// Argument: a JSON object {host, port, auth}. Times are process.hrtime.bigint() in ns, as strings.
import { Agent, request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { createInterface } from 'node:readline';
import { Client } from 'undici';

const { host, port, auth } = JSON.parse(process.argv[2]);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

/**
 * A keep-alive TLS connection that writes each request's bytes itself and reads the answer's
 * status line, headers and Content-Length body: what a lean client (curl, a C agent) costs,
 * without node:https's per-request objects. One request at a time on it.
 */
function rawConnection(to) {
  const socket = tlsConnect({ host, port: to, rejectUnauthorized: false });
  socket.setNoDelay(true);
  let buffered = Buffer.alloc(0);
  let waiting;
  socket.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0 || !waiting) return;
    const head = buffered.subarray(0, end).toString('latin1');
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return waiting.reject(new Error(`an answer without Content-Length: ${head}`));
    const total = end + 4 + Number(length[1]);
    if (buffered.length < total) return;
    buffered = buffered.subarray(total);
    const w = waiting;
    waiting = undefined;
    w.resolve(Number(head.slice(9, 12)));
  });
  const failed = (e) => waiting?.reject(e ?? new Error('the connection closed'));
  socket.on('error', failed);
  socket.on('close', () => failed());
  return {
    request(method, path, t) {
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        t.sending = String(process.hrtime.bigint());
        socket.write(`${method} ${path} HTTP/1.1\r\nhost: ${host}:${to}\r\nauthorization: ${auth}\r\ncontent-length: 0\r\n\r\n`);
        t.written = String(process.hrtime.bigint());
      });
    },
    close: () => socket.destroy(),
  };
}

/**
 * The connections requests go over: node:https's keep-alive agent, undici's Clients (one per
 * connection, used in turn), or lean TLS connections ("tls", see rawConnection). `fresh` (https
 * only): each request on a new connection.
 */
function connections(kind, count, to = port) {
  const agent = kind === 'https' ? new Agent({ keepAlive: true, maxSockets: count }) : undefined;
  const clients = kind === 'undici' ? Array.from({ length: count }, () => new Client(`https://${host}:${to}`, { connect: { rejectUnauthorized: false }, pipelining: 1 })) : [];
  const raw = kind === 'tls' ? Array.from({ length: count }, () => rawConnection(to)) : [];
  let next = 0;
  return {
    kind,
    /** From the first connection again (a burst sends one request per connection). */
    rewind: () => (next = 0),
    /** `start`: when the burst began in this process (every request of a burst starts then), else now. */
    call(method, path, fresh = false, start = String(process.hrtime.bigint())) {
      const t = { call: start, sending: '', written: '', answered: '', status: 0 };
      if (kind === 'tls') {
        return raw[next++ % raw.length].request(method, path, t).then((status) => {
          t.answered = String(process.hrtime.bigint());
          t.status = status;
          return t;
        });
      }
      if (kind === 'undici') {
        // undici writes the request on the same turn: its sending time is now.
        t.sending = String(process.hrtime.bigint());
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
      for (const r of raw) r.close();
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
      // One start for the whole burst: the last request's wait behind the others' in this thread counts.
      const start = String(process.hrtime.bigint());
      const r = await Promise.all(m.paths.map((p) => api.call(m.method, p, Boolean(m.fresh), start)));
      say({ ok: true, results: Object.fromEntries(m.paths.map((p, i) => [p, r[i]])) });
    }
  } catch (e) {
    say({ ok: false, error: String(e) });
  }
});
say({ ready: true });
