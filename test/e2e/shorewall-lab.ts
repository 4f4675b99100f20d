/**
 * Lab helpers for tests that start from Shorewall files rather than databases: compile
 * a directory given as text and load the plan into the lab's gateway, and send
 * hand-built (hostile) packets with test/e2e/crafted.py, reporting whether each one
 * reached its target.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { expect } from 'vitest';
import { compile, type CompiledPlan } from '../../src/compile/index.js';
import { parseShorewall } from '../../src/shorewall/index.js';
import type { Lab, LabNode } from '../lab/lab.js';

const CRAFTED = join(import.meta.dirname, 'crafted.py');

/** Why crafted packets cannot be sent here (no python3), or undefined. */
export function craftedUnavailableReason(): string | undefined {
  return PYTHON === undefined ? 'python3 is not installed (crafted packets)' : undefined;
}

/** The interpreter itself, not a version-manager shim that costs a second per start. */
const PYTHON = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', ''], { stdio: 'ignore' }).status === 0);

/** Compiles the files (IPv4, and IPv6 when given) and loads sets and both rulesets into the lab's gateway. */
export async function loadShorewall(lab: Lab, v4: Record<string, string>, v6?: Record<string, string>): Promise<CompiledPlan> {
  const config4 = parseShorewall(v4, { family: 4, dir: 'lab4' });
  const config6 = v6 === undefined ? undefined : parseShorewall(v6, { family: 6, dir: 'lab6' });
  const plan = compile(config4, config6);
  const inGw = (command: string, args: string[], input: string) =>
    execa('ip', ['netns', 'exec', lab.ns.gw, command, ...args], { input, reject: false, all: true });
  for (const [command, args, input] of [
    ['ipset', ['restore', '-exist'], plan.ipsets.replace(/^#.*\n/gm, '')],
    ['iptables-restore', [], plan.rulesV4],
    ['ip6tables-restore', [], plan.rulesV6],
  ] as const) {
    const r = await inGw(command, [...args], input);
    if (r.exitCode !== 0) throw new Error(`${command} refused the compiled plan: ${String(r.all)}`);
  }
  return plan;
}

export type Arrival = 'arrived' | 'blocked';

export interface CraftedPacket {
  from: LabNode;
  /** The node whose stack should (or should not) see the packet. */
  to: LabNode;
  family: 4 | 6;
  /** Source address written in the packet (spoofed when not the sender's own). */
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  /** tcp: flags (SFRPAU letters or 'none'), sport, dport, ack; icmp: type, code. */
  options?: Record<string, string | number>;
  timeoutMs?: number;
}

let markers = 0;

/** Sends the packet and reports whether it reached `to`'s stack (see crafted.py). */
export async function sendCrafted(lab: Lab, p: CraftedPacket): Promise<Arrival> {
  const marker = `gh-crafted-${process.pid}-${++markers}-${Date.now()}`;
  const python = PYTHON ?? 'python3';
  const listener = spawn('ip', ['netns', 'exec', lab.ns[p.to], python, CRAFTED, 'listen', String(p.family), p.proto, marker, String(p.timeoutMs ?? 700)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  listener.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: listener.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'ready') throw new Error(`crafted listener on ${p.to} did not start: ${stderr}`);
  const options = Object.entries(p.options ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  const sent = await execa('ip', ['netns', 'exec', lab.ns[p.from], python, CRAFTED, 'send', String(p.family), p.src, p.dst, p.proto, marker, ...options], {
    reject: false,
    all: true,
  });
  if (sent.exitCode !== 0) {
    listener.kill('SIGKILL');
    throw new Error(`crafted send from ${p.from} failed: ${String(sent.all)}`);
  }
  listener.stdin.write('sent\n');
  const result = await lines.next();
  listener.kill('SIGKILL');
  if (result.value !== 'arrived' && result.value !== 'blocked') throw new Error(`crafted listener on ${p.to} said '${String(result.value)}': ${stderr}`);
  return result.value;
}

/** A wrong arrival named for what it is: a hole when a packet Shorewall refuses arrived. */
export function describeArrival(expected: Arrival, seen: Arrival): string {
  return expected === 'blocked' && seen === 'arrived' ? 'FALSE ACCEPT (security hole)' : 'FALSE DROP (needless block)';
}

/** The lab's four interfaces as Shorewall zones, with `rules` and `policy` lines added. */
export function files(rules: string[], options: { policy?: string[]; conf?: string[]; interfaces?: string[] } = {}): Record<string, string> {
  return {
    zones: 'fw firewall\nnet ipv4\nloc ipv4\ngst ipv4\ndmz ipv4\n',
    interfaces: ['?FORMAT 2', ...(options.interfaces ?? ['net red0 -', 'loc green0 -', 'gst blue0 -', 'dmz orange0 -'])].join('\n') + '\n',
    policy: [...(options.policy ?? ['loc net ACCEPT', '$FW all ACCEPT', 'net all DROP', 'all all REJECT'])].join('\n') + '\n',
    rules: ['?SECTION NEW', ...rules].join('\n') + '\n',
    snat: 'MASQUERADE 192.168.0.0/16 red0\n',
    'shorewall.conf': ['IP_FORWARDING=On', ...(options.conf ?? [])].join('\n') + '\n',
  };
}

/** Sends each packet in turn and fails once, listing each wrong arrival with its kind. */
export async function expectArrivals(lab: Lab, cases: (CraftedPacket & { expect: Arrival; why: string })[]): Promise<void> {
  const seen: Arrival[] = [];
  // One at a time: each listener must see only its own packet's fate.
  for (const c of cases) seen.push(await sendCrafted(lab, c));
  const wrong = cases
    .map((c, i) => ({ c, got: seen[i]! }))
    .filter(({ c, got }) => got !== c.expect)
    .map(({ c, got }) => `${describeArrival(c.expect, got)}: ${c.proto} ${c.src} -> ${c.dst} ${JSON.stringify(c.options ?? {})} ${got} at ${c.to} (${c.why})`);
  expect(wrong, wrong.join('\n')).toEqual([]);
}
