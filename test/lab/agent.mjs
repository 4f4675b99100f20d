// Lab agent: runs inside one network namespace (`ip netns exec NS node agent.mjs`) and
// answers JSON-line requests on stdin: listen on a port, or probe an address. One
// long-lived agent per namespace keeps probes fast (no process start per packet).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { createInterface } from 'node:readline';

const listeners = new Map();

function plain(address) {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

function listen(proto, port) {
  const key = `${proto}/${port}`;
  // Parallel probes of one port share the listener (and wait for the same bind).
  if (!listeners.has(key)) listeners.set(key, bind(proto, port));
  return listeners.get(key);
}

function bind(proto, port) {
  return new Promise((resolve, reject) => {
    if (proto === 'tcp') {
      const server = net.createServer((socket) => {
        socket.on('error', () => {});
        socket.end(`${plain(socket.remoteAddress)}\n`);
      });
      server.once('error', reject);
      server.listen({ host: '::', port, ipv6Only: false }, () => resolve());
    } else {
      const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false });
      socket.on('message', (_msg, rinfo) => socket.send(`${plain(rinfo.address)}\n`, rinfo.port, rinfo.address));
      socket.once('error', reject);
      socket.bind({ address: '::', port }, () => resolve());
    }
  });
}

// Errors that mean an ICMP error or a reset came back: the packet was refused.
const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'ECONNRESET']);

function probeTcp(address, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    let data = '';
    const finish = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ verdict: 'dropped' }), timeoutMs);
    socket.on('data', (chunk) => {
      data += chunk;
      if (data.includes('\n')) finish({ verdict: 'accepted', seen: data.trim() });
    });
    socket.on('end', () => finish({ verdict: 'accepted', seen: data.trim() || undefined }));
    socket.on('error', (e) =>
      finish(REFUSED.has(e.code) ? { verdict: 'rejected', code: e.code } : { verdict: 'dropped', code: e.code }),
    );
  });
}

function probeUdp(address, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(resend);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ verdict: 'dropped' }), timeoutMs);
    const send = () => socket.send('probe\n', (e) => e && finish(REFUSED.has(e.code) ? { verdict: 'rejected', code: e.code } : { verdict: 'dropped', code: e.code }));
    // A connected socket reports ICMP errors; resending surfaces one that came back late.
    let resend;
    socket.on('message', (msg) => finish({ verdict: 'accepted', seen: String(msg).trim() }));
    socket.on('error', (e) =>
      finish(REFUSED.has(e.code) ? { verdict: 'rejected', code: e.code } : { verdict: 'dropped', code: e.code }),
    );
    socket.connect(port, address, () => {
      send();
      resend = setInterval(send, Math.max(50, Math.floor(timeoutMs / 4)));
    });
  });
}

function probeIcmp(address, timeoutMs) {
  return new Promise((resolve) => {
    const wait = Math.max(0.2, timeoutMs / 1000).toFixed(1);
    const child = spawn('ping', ['-n', '-c', '1', '-W', wait, address], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', (e) => resolve({ verdict: 'dropped', code: e.code }));
    child.on('close', (code) => {
      if (code === 0) resolve({ verdict: 'accepted' });
      else if (/Unreachable|prohibited|filtered|Operation not permitted/i.test(out)) resolve({ verdict: 'rejected', detail: out.trim().split('\n')[1] });
      else resolve({ verdict: 'dropped' });
    });
  });
}

async function handle(req) {
  switch (req.op) {
    case 'listen':
      await listen(req.proto, req.port);
      return {};
    case 'probe':
      if (req.proto === 'tcp') return probeTcp(req.address, req.port, req.timeoutMs);
      if (req.proto === 'udp') return probeUdp(req.address, req.port, req.timeoutMs);
      return probeIcmp(req.address, req.timeoutMs);
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line);
  handle(req).then(
    (result) => reply({ id: req.id, ok: true, ...result }),
    (e) => reply({ id: req.id, ok: false, error: String(e?.message ?? e) }),
  );
});
process.stdin.on('end', () => process.exit(0));
reply({ ready: true });
