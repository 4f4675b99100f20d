// HTTPS clients for bench/api.ts, one connection each (keep-alive, opened before the
// measure as a fleet's are). Several of these processes stand for a fleet of machines:
// one Node thread serialising and encrypting 100 requests is itself a bottleneck.
// Reads one JSON command per line on stdin and answers each with one JSON line.
//   {"op":"open","count":N,"path":P}   opens N connections (a GET of P on each)
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

const { host, port, auth } = JSON.parse(process.argv[2]);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let agent;

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

createInterface({ input: process.stdin }).on('line', async (line) => {
  const m = JSON.parse(line);
  try {
    if (m.op === 'open') {
      agent = new Agent({ keepAlive: true, maxSockets: m.count });
      const r = await Promise.all(Array.from({ length: m.count }, () => call('GET', m.path)));
      say({ ok: true, statuses: r.map((t) => t.status) });
    } else if (m.op === 'fire') {
      const r = await Promise.all(m.paths.map((p) => call(m.method, p, Boolean(m.fresh))));
      say({ ok: true, results: Object.fromEntries(m.paths.map((p, i) => [p, r[i]])) });
    }
  } catch (e) {
    say({ ok: false, error: String(e) });
  }
});
say({ ready: true });
