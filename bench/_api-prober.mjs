// Runs inside a namespace for bench/api.ts. Reads one JSON command per line on stdin.
//   {"op":"echo","port":N}                       UDP echo server
//   {"op":"stream","sources":[...],"to":"A","port":N,"everyMs":M}   probes from each source
//   {"op":"stop"}                                 ends the stream, prints per-source results
// Times are process.hrtime.bigint() (CLOCK_MONOTONIC, shared by every process) in ns.
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';

const say = (o) => process.stdout.write(JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
let streams = [];
let timer;
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.op === 'echo') {
    const s = dgram.createSocket(m.to?.includes(':') ? 'udp6' : 'udp4');
    s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
    s.bind(m.port, () => say({ ok: true }));
  } else if (m.op === 'stream') {
    let bound = 0;
    streams = m.sources.map((source) => {
      const s = dgram.createSocket('udp4');
      const st = { source, socket: s, sent: new Map(), lastReplied: -1, seq: 0 };
      s.on('message', (msg) => {
        const seq = msg.readUInt32BE(0);
        if (seq > st.lastReplied) st.lastReplied = seq;
      });
      s.bind(0, source, () => {
        if (++bound === m.sources.length) say({ ok: true });
      });
      return st;
    });
    timer = setInterval(() => {
      for (const st of streams) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(st.seq);
        st.sent.set(st.seq, process.hrtime.bigint());
        st.seq++;
        st.socket.send(b, m.port, m.to);
      }
    }, m.everyMs);
  } else if (m.op === 'stop') {
    clearInterval(timer);
    setTimeout(() => {
      const results = streams.map((st) => {
        // The drop happened after the last answered probe and by the next one sent.
        const next = st.sent.get(st.lastReplied + 1);
        const last = st.sent.get(st.lastReplied);
        st.socket.close();
        return { source: st.source, lastAnswered: last ?? null, firstUnanswered: next ?? null, sent: st.seq, answered: st.lastReplied + 1 };
      });
      say({ ok: true, results });
    }, 100);
  }
});
say({ ready: true });
