// Runs inside a namespace for bench/api.ts. Reads one JSON command per line on stdin and
// answers each with one JSON line.
//   {"op":"stream","sources":[...],"to":"A","port":N,"everyMs":M}
//                                                 each source sends a probe every M ms, the sources spread
//                                                 evenly over the M ms (a steady load, not 100-packet bursts)
//   {"op":"stop"}                                 ends the stream; per source, the send times of its probes
// The kernel counts them where they arrive (bench/api.ts: ProbeCounters): no replies, no
// process receiving them, so the probes take less of the CPU the API needs. Times are process.hrtime.bigint()
// (CLOCK_MONOTONIC, shared by every process of the machine) in ns, as strings.
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';

const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let streams = [];
let timer;
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.op === 'stream') {
    let bound = 0;
    streams = m.sources.map((source) => {
      const socket = dgram.createSocket('udp4');
      const st = { source, socket, sent: [] };
      // Connected: each send then skips the address lookup Node does per datagram otherwise.
      socket.bind(0, source, () => socket.connect(m.port, m.to, () => {
        if (++bound === m.sources.length) start();
      }));
      return st;
    });
    // Ticks of 1 ms; source i sends on the ticks where tick % everyMs === i % everyMs.
    const start = () => {
      let tick = 0;
      const send = () => {
        for (let i = tick % m.everyMs; i < streams.length; i += m.everyMs) {
          const st = streams[i];
          const b = Buffer.allocUnsafe(4);
          b.writeUInt32BE(st.sent.length);
          st.socket.send(b);
          // Taken after the send: never earlier than the packet left, so the drop's upper bound stays one.
          st.sent.push(process.hrtime.bigint());
        }
        tick++;
      };
      send();
      timer = setInterval(send, 1);
      say({ ok: true });
    };
  } else if (m.op === 'stop') {
    clearInterval(timer);
    const sent = Object.fromEntries(streams.map((st) => [st.source, st.sent.map(String)]));
    for (const st of streams) st.socket.close();
    streams = [];
    say({ ok: true, sent });
  }
});
say({ ready: true });
