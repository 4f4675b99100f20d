/**
 * The multi-WAN lab: a gateway with a LAN host and two ISP routers, each on its own red
 * interface, both reaching one internet host. The ISPs drop what the gateway sends them
 * from another ISP's addresses (BCP 38), so a reply leaving through the wrong provider
 * is lost, as on the real internet; the internet host answers with the source address it
 * saw, which names the provider a connection used.
 *
 *   green 192.168.1.10 ─green0─ gw ─red0 203.0.113.2── isp1 203.0.113.1 ─198.51.100.1─┐
 *                                 └─red1 192.0.2.2──── isp2 192.0.2.1   ─198.18.0.1───┴ inet 198.51.100.10
 *
 * gw starts as a DHCP-configured box would: default routes via both ISPs in main
 * (isp2's with a higher metric). Names carry a random suffix; destroy() removes all.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { type Agent, startAgent } from './lab.js';

export type MultiWanNode = 'gw' | 'green' | 'isp1' | 'isp2' | 'inet';
const NODES: readonly MultiWanNode[] = ['gw', 'green', 'isp1', 'isp2', 'inet'];

export const MW = {
  green: '192.168.1.10',
  gwGreen: '192.168.1.1',
  red0: '203.0.113.2',
  isp1: '203.0.113.1',
  red1: '192.0.2.2',
  isp2: '192.0.2.1',
  inet: '198.51.100.10',
} as const;

export interface MultiWanLab {
  readonly ns: Record<MultiWanNode, string>;
  exec(node: MultiWanNode, command: string, args: string[]): Promise<string>;
  /** TCP connect from `from` to address:port; the address the server saw, or undefined when it failed. */
  connect(from: MultiWanNode, to: MultiWanNode, address: string, port: number, timeoutMs?: number, listenPort?: number): Promise<string | undefined>;
  /** An ISP stops forwarding and answering (the link looks up, nothing passes). */
  cut(isp: 'isp1' | 'isp2'): Promise<void>;
  restore(isp: 'isp1' | 'isp2'): Promise<void>;
  destroy(): Promise<void>;
}

export async function createMultiWanLab(): Promise<MultiWanLab> {
  const id = randomBytes(3).toString('hex');
  const ns = Object.fromEntries(NODES.map((n) => [n, `ghmw${n}-${id}`])) as Record<MultiWanNode, string>;
  const agents = new Map<MultiWanNode, Promise<Agent>>();
  let destroyed = false;
  const removeAllSync = (): void => {
    for (const name of Object.values(ns)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  };
  const onExit = (): void => removeAllSync();
  process.once('exit', onExit);
  const inNs = (node: MultiWanNode, command: string, args: string[]): Promise<string> =>
    execa('ip', ['netns', 'exec', ns[node], command, ...args]).then((r) => String(r.stdout));

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    for (const agent of agents.values()) await agent.then((a) => a.child.kill('SIGKILL')).catch(() => undefined);
    for (const name of Object.values(ns)) await execa('ip', ['netns', 'del', name], { reject: false });
    // The FireQOS state Gatehouse kept for the gateway namespace (when a test shaped it).
    await execa('rm', ['-rf', `/run/gatehouse/fireqos/netns-${ns.gw}`], { reject: false });
    process.off('exit', onExit);
  };

  try {
    for (const node of NODES) await execa('ip', ['netns', 'add', ns[node]]);
    const links: [MultiWanNode, string, MultiWanNode, string][] = [
      ['gw', 'green0', 'green', 'eth0'],
      ['gw', 'red0', 'isp1', 'wan0'],
      ['gw', 'red1', 'isp2', 'wan0'],
      ['isp1', 'inet0', 'inet', 'eth0'],
      ['isp2', 'inet0', 'inet', 'eth1'],
    ];
    for (const [a, ia, b, ib] of links) await execa('ip', ['link', 'add', ia, 'netns', ns[a], 'type', 'veth', 'peer', 'name', ib, 'netns', ns[b]]);
    const batch: Record<MultiWanNode, string[]> = { gw: [], green: [], isp1: [], isp2: [], inet: [] };
    const up = (node: MultiWanNode, dev: string, cidr: string): void => void batch[node].push(`address add ${cidr} dev ${dev}`, `link set ${dev} up`);
    for (const node of NODES) batch[node].push('link set lo up');
    up('gw', 'green0', `${MW.gwGreen}/24`);
    up('green', 'eth0', `${MW.green}/24`);
    batch.green.push(`route add default via ${MW.gwGreen}`);
    up('gw', 'red0', `${MW.red0}/24`);
    up('gw', 'red1', `${MW.red1}/24`);
    // As DHCP would leave it: both defaults in main, isp2's as the spare.
    batch.gw.push(`route add default via ${MW.isp1} dev red0 metric 100`, `route add default via ${MW.isp2} dev red1 metric 200`);
    up('isp1', 'wan0', `${MW.isp1}/24`);
    up('isp1', 'inet0', '198.51.100.1/24');
    up('isp2', 'wan0', `${MW.isp2}/24`);
    up('isp2', 'inet0', '198.18.0.1/24');
    batch.isp2.push(`route add ${MW.inet}/32 via 198.18.0.10`);
    up('inet', 'eth0', `${MW.inet}/24`);
    up('inet', 'eth1', '198.18.0.10/24');
    batch.inet.push('route add 203.0.113.0/24 via 198.51.100.1', 'route add 192.0.2.0/24 via 198.18.0.1');
    await Promise.all(NODES.map((node) => execa('ip', ['-n', ns[node], '-batch', '-'], { input: batch[node].join('\n') + '\n' })));
    await Promise.all(
      NODES.map((node) =>
        inNs(node, 'sysctl', ['-q', '-w', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', ...(node === 'gw' || node.startsWith('isp') ? ['net.ipv4.ip_forward=1'] : [])]),
      ),
    );
    // BCP 38 at each ISP: only its own customer addresses may enter from the gateway.
    await inNs('isp1', 'iptables', ['-A', 'FORWARD', '-i', 'wan0', '!', '-s', '203.0.113.0/24', '-j', 'DROP']);
    await inNs('isp2', 'iptables', ['-A', 'FORWARD', '-i', 'wan0', '!', '-s', '192.0.2.0/24', '-j', 'DROP']);
    // Resolve neighbours now, while nothing filters.
    await Promise.all([
      inNs('green', 'ping', ['-c', '1', '-W', '2', '-q', MW.gwGreen]),
      inNs('gw', 'ping', ['-c', '1', '-W', '2', '-q', MW.isp1]),
      inNs('gw', 'ping', ['-c', '1', '-W', '2', '-q', MW.isp2]),
      inNs('inet', 'ping', ['-c', '1', '-W', '2', '-q', '198.51.100.1']),
      inNs('inet', 'ping', ['-c', '1', '-W', '2', '-q', '198.18.0.1']),
    ]);
  } catch (e) {
    await destroy();
    throw e;
  }

  const agentFor = (node: MultiWanNode): Promise<Agent> => {
    let agent = agents.get(node);
    if (!agent) {
      agent = startAgent(ns[node]);
      agents.set(node, agent);
    }
    return agent;
  };

  return {
    ns,
    exec: inNs,
    async connect(from, to, address, port, timeoutMs = 1000, listenPort = port) {
      const listening = await (await agentFor(to)).request({ op: 'listen', proto: 'tcp', port: listenPort });
      if (!listening['ok']) throw new Error(`cannot listen on ${to} tcp/${listenPort}: ${String(listening['error'])}`);
      const answer = await (await agentFor(from)).request({ op: 'probe', proto: 'tcp', address, port, timeoutMs });
      return answer['verdict'] === 'accepted' ? (answer['seen'] as string | undefined) : undefined;
    },
    async cut(isp) {
      await inNs(isp, 'iptables', ['-I', 'FORWARD', '1', '-j', 'DROP']);
      await inNs(isp, 'iptables', ['-I', 'INPUT', '1', '-j', 'DROP']);
    },
    async restore(isp) {
      await inNs(isp, 'iptables', ['-D', 'FORWARD', '-j', 'DROP']);
      await inNs(isp, 'iptables', ['-D', 'INPUT', '-j', 'DROP']);
    },
    destroy,
  };
}
