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

const { host, auth } = JSON.parse(process.argv[2]);
let { port } = JSON.parse(process.argv[2]);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let agent;
let kind = 'https';
/** undici: one Client per connection, and the next to use. */
let clients = [];
let next = 0;

function callUndici(method, path, fresh = false) {
  const t = { call: String(process.hrtime.bigint()), sending: '', written: '', answered: '', status: 0 };
  const client = fresh ? new Client(`https://${host}:${port}`, { connect: { rejectUnauthorized: false } }) : clients[next++ % clients.length];
  // undici writes the request on the same turn: the sending time is the call's.
  t.sending = t.call;
  return client.request({ method, path, headers: { authorization: auth } }).then(async (res) => {
    await res.body.dump();
    t.answered = String(process.hrtime.bigint());
    t.status = res.statusCode;
    if (fresh) await client.close();
    return t;
  });
}

function call(method, path, fresh = false) {
  return new Promise((resolve, reject) => {
    const t = { call: String(process.hrtime.bigint()), sending: '', written: '', answered: '', status: 0 };
    const req = request({ host, port, method, path, agent: fresh ? false : agent, rejectUnauthorized: false, headers: { authorization: auth } }, (res) => {
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
}

/**
 * Warms this process's code (V8 optimises a function only after many runs): `rounds` bursts of
 * PUTs and DELETEs on `count` connections to another server (the benchmark's own), so the
 * clients, stand-ins for a fleet whose machines cost the gateway nothing, take as little of
 * its CPU as they can; the API itself sees none of it.
 */
async function warm(m) {
  const paths = Array.from({ length: m.count }, (_, i) => `/drop/forward/any/192.0.2.${i}`);
  const savedPort = port;
  port = m.port;
  const savedAgent = agent;
  const savedClients = clients;
  agent = new Agent({ keepAlive: true, maxSockets: m.count });
  clients = m.kind === 'undici' ? paths.map(() => new Client(`https://${host}:${port}`, { connect: { rejectUnauthorized: false }, pipelining: 1 })) : [];
  const one = m.kind === 'undici' ? callUndici : call;
  for (let r = 0; r < m.rounds; r++) {
    next = 0;
    await Promise.all(paths.map((p) => one('PUT', p)));
    next = 0;
    await Promise.all(paths.map((p) => one('DELETE', p)));
  }
  agent.destroy();
  await Promise.all(clients.map((c) => c.close()));
  agent = savedAgent;
  clients = savedClients;
  port = savedPort;
}

createInterface({ input: process.stdin }).on('line', async (line) => {
  const m = JSON.parse(line);
  try {
    if (m.op === 'warm') {
      await warm(m);
      say({ ok: true });
      return;
    }
    if (m.op === 'open' && m.kind === 'undici') {
      kind = 'undici';
      clients = Array.from({ length: m.count }, () => new Client(`https://${host}:${port}`, { connect: { rejectUnauthorized: false }, pipelining: 1 }));
      const r = await Promise.all(clients.map(() => callUndici('GET', m.path)));
      say({ ok: true, statuses: r.map((t) => t.status) });
    } else if (m.op === 'open') {
      agent = new Agent({ keepAlive: true, maxSockets: m.count });
      const r = await Promise.all(Array.from({ length: m.count }, () => call('GET', m.path)));
      say({ ok: true, statuses: r.map((t) => t.status) });
    } else if (m.op === 'fire') {
      next = 0;
      const r = await Promise.all(m.paths.map((p) => (kind === 'undici' ? callUndici : call)(m.method, p, Boolean(m.fresh))));
      say({ ok: true, results: Object.fromEntries(m.paths.map((p, i) => [p, r[i]])) });
    }
  } catch (e) {
    say({ ok: false, error: String(e) });
  }
});
say({ ready: true });
