/**
 * The network-namespace lab: a gateway (gw) with a LAN host (green), a guest host
 * (blue), a DMZ server (orange) and an ISP router (isp) with an internet host (inet)
 * behind it, joined by veth pairs, IPv4 and IPv6. Names carry a random suffix so test
 * files never collide; destroy() removes everything, and exit/signal handlers do the
 * same for an interrupted run. Nothing is created in the host namespace.
 *
 *   green 192.168.1.10  ──green0┐
 *   blue  192.168.10.10 ──blue0 ├ gw ─red0── 203.0.113.1 isp 198.51.100.1 ── inet 198.51.100.10
 *   orange 192.168.20.10 ─orange0┘  (gw red0 = 203.0.113.2)
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type LabNode = 'gw' | 'green' | 'blue' | 'orange' | 'isp' | 'inet';
export type Verdict = 'accepted' | 'rejected' | 'dropped';
export type Proto = 'tcp' | 'udp' | 'icmp';
export type Zone = 'green' | 'blue' | 'orange' | 'red';

export const LAB_NODES: readonly LabNode[] = ['gw', 'green', 'blue', 'orange', 'isp', 'inet'];

export interface Addresses {
  v4: string;
  v6: string;
}

/** Host addresses; gw's own addresses are in GATEWAY_ADDRESSES. */
export const HOST_ADDRESSES: Record<Exclude<LabNode, 'gw'>, Addresses> = {
  green: { v4: '192.168.1.10', v6: 'fd00:1::10' },
  blue: { v4: '192.168.10.10', v6: 'fd00:10::10' },
  orange: { v4: '192.168.20.10', v6: 'fd00:20::10' },
  isp: { v4: '203.0.113.1', v6: '2001:db8:1::1' },
  inet: { v4: '198.51.100.10', v6: '2001:db8:2::10' },
};

/** The gateway's address in each zone, and its interface there. */
export const GATEWAY_ADDRESSES: Record<Zone, Addresses & { iface: string; prefix4: number; prefix6: number }> = {
  green: { v4: '192.168.1.1', v6: 'fd00:1::1', iface: 'green0', prefix4: 24, prefix6: 64 },
  blue: { v4: '192.168.10.1', v6: 'fd00:10::1', iface: 'blue0', prefix4: 24, prefix6: 64 },
  orange: { v4: '192.168.20.1', v6: 'fd00:20::1', iface: 'orange0', prefix4: 24, prefix6: 64 },
  red: { v4: '203.0.113.2', v6: '2001:db8:1::2', iface: 'red0', prefix4: 24, prefix6: 64 },
};

export interface ProbeOptions {
  /** Address to send to; default the target's own (for gw, its green address). */
  address?: string;
  /** Port the target listens on, when the gateway translates it (port forward). */
  listenPort?: number;
  family?: 4 | 6;
  timeoutMs?: number;
}

export interface Lab {
  readonly id: string;
  /** Namespace name of each node: pass `netns:${lab.ns.gw}` as apply mode. */
  readonly ns: Record<LabNode, string>;
  /** Runs a command inside a node's namespace. */
  exec(node: LabNode, command: string, args: string[], input?: string): Promise<string>;
  addressOf(node: LabNode, family?: 4 | 6): string;
  /** accepted (connected / answered), rejected (RST or ICMP error), dropped (silence). */
  probe(from: LabNode, to: LabNode, proto: Proto, port?: number, options?: ProbeOptions): Promise<Verdict>;
  /** The source address the server on `to` saw for a TCP connection, if one got through. */
  seenSource(from: LabNode, to: LabNode, port: number, options?: ProbeOptions): Promise<string | undefined>;
  /**
   * Lets the ISP route the private ranges to the gateway. By default it cannot (so only
   * masqueraded traffic returns); with this, the gateway's ruleset alone must keep
   * internet-to-LAN traffic out.
   */
  routePrivateRangesToGateway(): Promise<void>;
  destroy(): Promise<void>;
}

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'agent.mjs');
const DEFAULT_TIMEOUT_MS = 400;

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'the lab needs root (network namespaces)';
  for (const tool of ['ip', 'iptables-restore', 'ip6tables-restore', 'iptables-save', 'ipset', 'ping', 'sysctl']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

export interface Agent {
  child: ChildProcessWithoutNullStreams;
  request(message: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * Runs a command: resolves its stdout less one final newline; rejects naming the command,
 * its exit and its stderr, with `stdout` and `stderr` on the error. (execa did this at
 * twice the CPU per process start, and a lab starts some thirty.)
 */
function run(command: string, args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const out = stdout.replace(/\r?\n$/, '');
      if (!error) return resolve(out);
      const how = error.code ?? error.signal ?? 'failed';
      reject(Object.assign(new Error(`${[command, ...args].join(' ')} exited ${String(how)}: ${stderr.trim()}`), { stdout: out, stderr }));
    });
    // A command that ends without reading its input fails by its exit status, not by EPIPE here.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

export async function createLab(): Promise<Lab> {
  const id = randomBytes(3).toString('hex');
  const ns = Object.fromEntries(LAB_NODES.map((n) => [n, `gh${n}-${id}`])) as Record<LabNode, string>;
  const agents = new Map<LabNode, Promise<Agent>>();
  let destroyed = false;

  const removeAllSync = (): void => {
    for (const name of Object.values(ns)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  };
  const onExit = (): void => removeAllSync();
  const onSignal = (signal: NodeJS.Signals): void => {
    removeAllSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const inNs = (node: LabNode, command: string, args: string[], input?: string): Promise<string> =>
    run('ip', ['netns', 'exec', ns[node], command, ...args], input);

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    for (const agent of agents.values()) {
      await agent.then((a) => a.child.kill('SIGKILL')).catch(() => undefined);
    }
    // -force: on past a namespace already gone, to the last one.
    await run('ip', ['-force', '-batch', '-'], Object.values(ns).map((name) => `netns del ${name}\n`).join('')).catch(() => undefined);
    // The FireQOS state Gatehouse keeps per target (when a test shaped the gateway).
    await rm(`/run/gatehouse/fireqos/netns-${ns.gw}`, { recursive: true, force: true }).catch(() => undefined);
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };

  try {
    // One `ip` process for the namespaces and one for the links (every line names its
    // namespaces, so nothing lands in the host's): a process start costs more than the step.
    const batch = (lines: string[]): Promise<unknown> => run('ip', ['-batch', '-'], lines.join('\n') + '\n');
    await batch(LAB_NODES.map((node) => `netns add ${ns[node]}`));
    // Before the links exist, so they are made with these: no duplicate address detection
    // (addresses, link-local included, work at once); the gateway and the ISP forward.
    await Promise.all(
      LAB_NODES.map((node) =>
        inNs(node, 'sysctl', [
          '-q',
          '-w',
          'net.ipv6.conf.default.accept_dad=0',
          'net.ipv6.conf.all.accept_dad=0',
          ...(node === 'gw' || node === 'isp' ? ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'] : []),
        ]),
      ),
    );
    const pairs: [LabNode, string, LabNode, string][] = [
      ['gw', 'green0', 'green', 'eth0'],
      ['gw', 'blue0', 'blue', 'eth0'],
      ['gw', 'orange0', 'orange', 'eth0'],
      ['gw', 'red0', 'isp', 'wan0'],
      ['isp', 'inet0', 'inet', 'eth0'],
    ];
    await batch(pairs.map(([a, ifa, b, ifb]) => `link add ${ifa} netns ${ns[a]} type veth peer name ${ifb} netns ${ns[b]}`));
    const batches: Record<LabNode, string[]> = { gw: [], green: [], blue: [], orange: [], isp: [], inet: [] };
    const up = (node: LabNode, iface: string, v4: string, v6: string): void => {
      batches[node].push(`address add ${v4} dev ${iface}`, `address add ${v6} dev ${iface} nodad`, `link set ${iface} up`);
    };
    for (const node of LAB_NODES) batches[node].push('link set lo up');
    for (const zone of ['green', 'blue', 'orange'] as const) {
      const g = GATEWAY_ADDRESSES[zone];
      up('gw', g.iface, `${g.v4}/24`, `${g.v6}/64`);
      up(zone, 'eth0', `${HOST_ADDRESSES[zone].v4}/24`, `${HOST_ADDRESSES[zone].v6}/64`);
      batches[zone].push(`route add default via ${g.v4}`, `route add ::/0 via ${g.v6}`);
    }
    const red = GATEWAY_ADDRESSES.red;
    up('gw', 'red0', `${red.v4}/24`, `${red.v6}/64`);
    batches.gw.push(`route add default via ${HOST_ADDRESSES.isp.v4}`, `route add ::/0 via ${HOST_ADDRESSES.isp.v6}`);
    up('isp', 'wan0', `${HOST_ADDRESSES.isp.v4}/24`, `${HOST_ADDRESSES.isp.v6}/64`);
    up('isp', 'inet0', '198.51.100.1/24', '2001:db8:2::1/64');
    // The ISP knows no route to the private IPv4 ranges: only masqueraded traffic comes back.
    // IPv6 has no NAT, so the ISP routes the LAN prefixes to the gateway.
    batches.isp.push(`route add fd00::/8 via ${red.v6}`);
    up('inet', 'eth0', `${HOST_ADDRESSES.inet.v4}/24`, `${HOST_ADDRESSES.inet.v6}/64`);
    batches.inet.push('route add default via 198.51.100.1', 'route add ::/0 via 2001:db8:2::1');
    await Promise.all(
      LAB_NODES.map((node) => run('ip', ['-n', ns[node], '-batch', '-'], batches[node].join('\n') + '\n')),
    );
    // Resolve every link's neighbours (ARP and NDP) now, while no ruleset is loaded: a
    // first probe across three fresh hops can otherwise outlast a probe's short timeout
    // on a loaded machine and be misread as a drop.
    const links: [LabNode, Addresses][] = [
      ...(['green', 'blue', 'orange'] as const).map((zone): [LabNode, Addresses] => [zone, GATEWAY_ADDRESSES[zone]]),
      ['gw', HOST_ADDRESSES.isp],
      ['inet', { v4: '198.51.100.1', v6: '2001:db8:2::1' }],
    ];
    await Promise.all(
      links.flatMap(([node, peer]) => [peer.v4, peer.v6].map((address) => inNs(node, 'ping', ['-c', '1', '-W', '2', '-q', address]))),
    );
  } catch (e) {
    await destroy();
    throw e;
  }

  const agentFor = (node: LabNode): Promise<Agent> => {
    let agent = agents.get(node);
    if (!agent) {
      agent = startAgent(ns[node]);
      agents.set(node, agent);
    }
    return agent;
  };

  const addressOf = (node: LabNode, family: 4 | 6 = 4): string => {
    const a = node === 'gw' ? GATEWAY_ADDRESSES.green : HOST_ADDRESSES[node];
    return family === 6 ? a.v6 : a.v4;
  };

  const send = async (from: LabNode, to: LabNode, proto: Proto, port: number | undefined, options: ProbeOptions) => {
    if (destroyed) throw new Error('the lab is destroyed');
    if (proto !== 'icmp') {
      if (port === undefined) throw new Error(`a ${proto} probe needs a port`);
      const listening = await (await agentFor(to)).request({ op: 'listen', proto, port: options.listenPort ?? port });
      if (!listening['ok']) throw new Error(`cannot listen on ${to} ${proto}/${options.listenPort ?? port}: ${String(listening['error'])}`);
    }
    const address = options.address ?? addressOf(to, options.family);
    const answer = await (await agentFor(from)).request({ op: 'probe', proto, address, port, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    if (!answer['ok']) throw new Error(`probe ${from} -> ${address} failed: ${String(answer['error'])}`);
    return answer;
  };

  return {
    id,
    ns,
    exec: inNs,
    addressOf,
    async probe(from, to, proto, port, options = {}) {
      return (await send(from, to, proto, port, options))['verdict'] as Verdict;
    },
    async seenSource(from, to, port, options = {}) {
      const answer = await send(from, to, 'tcp', port, options);
      return answer['verdict'] === 'accepted' ? (answer['seen'] as string | undefined) : undefined;
    },
    async routePrivateRangesToGateway() {
      await inNs('isp', 'ip', ['route', 'add', '192.168.0.0/16', 'via', GATEWAY_ADDRESSES.red.v4]);
    },
    destroy,
  };
}

export function startAgent(namespace: string): Promise<Agent> {
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, AGENT], { stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  let nextId = 1;
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const why = `lab agent in ${namespace} exited (${String(code)}): ${stderr.trim()}`;
      reject(new Error(why));
      for (const done of waiting.values()) done({ ok: false, error: why });
      waiting.clear();
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const reply = JSON.parse(line) as Record<string, unknown>;
      if (reply['ready']) {
        resolve({
          child,
          request(message) {
            const id = nextId++;
            return new Promise((done) => {
              waiting.set(id, done);
              child.stdin.write(JSON.stringify({ ...message, id }) + '\n');
            });
          },
        });
        return;
      }
      const done = waiting.get(reply['id'] as number);
      waiting.delete(reply['id'] as number);
      done?.(reply);
    });
  });
}
