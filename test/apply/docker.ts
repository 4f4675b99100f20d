/**
 * Docker on the lab's gateway, without Docker: the bridge, one container and the iptables
 * rules dockerd 20.10-24 makes for them, made with the same commands in the same order
 * (chains first, FORWARD's jumps inserted at the top, then the bridge's rules, then a
 * published port: `docker run -p 8081:80`). What dockerd 25+ adds (DOCKER-FORWARD and
 * friends) changes nothing here: it all hangs off FORWARD after DOCKER-USER.
 *
 *   container 172.17.0.2 ── eth0 | veth ── docker0 172.17.0.1 [gw]
 */
import { execa } from 'execa';
import { expect } from 'vitest';
import type { Agent, Lab } from '../lab/lab.js';

export const CONTAINER = { address: '172.17.0.2', subnet: '172.17.0.0/16', bridge: 'docker0', gateway: '172.17.0.1', published: 8081, port: 80 } as const;

/** The iptables commands dockerd runs, in order, for its bridge and one published port. */
export const DOCKERD_COMMANDS: string[][] = [
  // Daemon start: its chains, FORWARD's policy, the jumps it keeps at the top of FORWARD.
  ['-t', 'nat', '-N', 'DOCKER'],
  ['-t', 'filter', '-N', 'DOCKER'],
  ['-t', 'filter', '-N', 'DOCKER-ISOLATION-STAGE-1'],
  ['-t', 'filter', '-N', 'DOCKER-ISOLATION-STAGE-2'],
  ['-t', 'filter', '-N', 'DOCKER-USER'],
  ['-t', 'filter', '-A', 'DOCKER-USER', '-j', 'RETURN'],
  ['-P', 'FORWARD', 'DROP'],
  ['-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER'],
  ['-t', 'nat', '-A', 'OUTPUT', '!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER'],
  ['-t', 'nat', '-A', 'POSTROUTING', '-s', '172.17.0.0/16', '!', '-o', 'docker0', '-j', 'MASQUERADE'],
  ['-t', 'nat', '-A', 'DOCKER', '-i', 'docker0', '-j', 'RETURN'],
  ['-A', 'DOCKER-ISOLATION-STAGE-1', '-i', 'docker0', '!', '-o', 'docker0', '-j', 'DOCKER-ISOLATION-STAGE-2'],
  ['-A', 'DOCKER-ISOLATION-STAGE-1', '-j', 'RETURN'],
  ['-A', 'DOCKER-ISOLATION-STAGE-2', '-o', 'docker0', '-j', 'DROP'],
  ['-A', 'DOCKER-ISOLATION-STAGE-2', '-j', 'RETURN'],
  ['-A', 'FORWARD', '-o', 'docker0', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
  ['-A', 'FORWARD', '-o', 'docker0', '-j', 'DOCKER'],
  ['-A', 'FORWARD', '-i', 'docker0', '!', '-o', 'docker0', '-j', 'ACCEPT'],
  ['-A', 'FORWARD', '-i', 'docker0', '-o', 'docker0', '-j', 'ACCEPT'],
  ['-I', 'FORWARD', '-j', 'DOCKER-ISOLATION-STAGE-1'],
  ['-I', 'FORWARD', '-j', 'DOCKER-USER'],
  // docker run -p 8081:80
  ['-t', 'nat', '-A', 'DOCKER', '!', '-i', 'docker0', '-p', 'tcp', '-m', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '172.17.0.2:80'],
  ['-t', 'nat', '-A', 'POSTROUTING', '-s', '172.17.0.2/32', '-d', '172.17.0.2/32', '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'MASQUERADE'],
  ['-A', 'DOCKER', '-d', '172.17.0.2/32', '!', '-i', 'docker0', '-o', 'docker0', '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'ACCEPT'],
];

/** What dockerd does to FORWARD when it restarts: its jumps back at the top. */
export const DOCKERD_RESTART: string[][] = [
  ['-D', 'FORWARD', '-j', 'DOCKER-ISOLATION-STAGE-1'],
  ['-I', 'FORWARD', '-j', 'DOCKER-ISOLATION-STAGE-1'],
  ['-D', 'FORWARD', '-j', 'DOCKER-USER'],
  ['-I', 'FORWARD', '-j', 'DOCKER-USER'],
];

export async function runIptables(namespace: string, commands: string[][]): Promise<void> {
  for (const args of commands) await execa('ip', ['netns', 'exec', namespace, 'iptables', '-w', ...args]);
}

/** The bridge, the container's namespace (`ghctr-<lab id>`) and dockerd's rules. Returns the container's namespace. */
export async function addDocker(lab: Lab): Promise<string> {
  const ns = `ghctr-${lab.id}`;
  await execa('ip', ['netns', 'add', ns]);
  const gw = (args: string[]) => execa('ip', ['-n', lab.ns.gw, ...args]);
  await gw(['link', 'add', 'docker0', 'type', 'bridge']);
  await gw(['address', 'add', `${CONTAINER.gateway}/16`, 'dev', 'docker0']);
  await gw(['link', 'set', 'docker0', 'up']);
  await execa('ip', ['link', 'add', 'vethc0', 'netns', lab.ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await gw(['link', 'set', 'vethc0', 'master', 'docker0', 'up']);
  await execa('ip', ['-n', ns, '-batch', '-'], {
    input: ['link set lo up', `address add ${CONTAINER.address}/16 dev eth0`, 'link set eth0 up', `route add default via ${CONTAINER.gateway}`].join('\n') + '\n',
  });
  await runIptables(lab.ns.gw, DOCKERD_COMMANDS);
  return ns;
}

export async function removeDocker(lab: Lab): Promise<void> {
  await execa('ip', ['netns', 'del', `ghctr-${lab.id}`], { reject: false });
}

/** Docker's lines of an iptables-save (its chains, its rules in the built-in chains), counters and comments dropped. */
export function dockerLines(save: string): string[] {
  const out: string[] = [];
  let table = '';
  for (const raw of save.split('\n')) {
    const line = raw.replace(/\s+\[\d+:\d+\]$/, '').trim();
    if (line.startsWith('*')) table = line.slice(1);
    else if (/DOCKER|docker0|172\.17\./.test(line) && !line.includes('gatehouse') && !line.startsWith('#')) out.push(`${table}: ${line}`);
  }
  return out;
}

/** A TCP connection attempt between agents: accepted, rejected or dropped. */
export async function tcpVerdict(from: Agent, to: Agent, address: string, port: number, listenPort = port): Promise<unknown> {
  const listening = await to.request({ op: 'listen', proto: 'tcp', port: listenPort });
  expect(listening['ok'], String(listening['error'])).toBe(true);
  const answer = await from.request({ op: 'probe', proto: 'tcp', address, port, timeoutMs: 800 });
  expect(answer['ok'], String(answer['error'])).toBe(true);
  return answer['verdict'];
}

/** The container's two paths through the gateway: out to the internet host, and in through the published port (Docker's DNAT on the red address). */
export function containerProbes(agents: () => { container: Agent; inet: Agent }): { containerToInet: () => Promise<unknown>; inetToPublished: () => Promise<unknown> } {
  return {
    containerToInet: () => tcpVerdict(agents().container, agents().inet, '198.51.100.10', 7000),
    inetToPublished: () => tcpVerdict(agents().inet, agents().container, '203.0.113.2', CONTAINER.published, CONTAINER.port),
  };
}
