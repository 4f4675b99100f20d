/**
 * Hand-written plans for the lab's gateway (interfaces green0, blue0, orange0, red0),
 * standing in for the compiler's output: valid iptables-restore text, zone-pair chains,
 * a port forward, masquerading and one ipset.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
/** The files of a plan directory made by hand (no plan.json: its parts are found by their files). */
export type PlanFileName = 'rules.v4' | 'rules.v6' | 'ipsets' | 'stopped.v4' | 'stopped.v6' | 'sysctl.conf' | 'summary.json';

export interface GatewayPlanOptions {
  /** Verdict of green -> orange tcp/80. */
  greenToOrangeWeb?: 'ACCEPT' | 'REJECT' | 'DROP';
  /** Source addresses the gw_blocked set drops in FORWARD. */
  blocked?: string[];
  /** A line appended to the v4 filter table (to make the kernel refuse the plan). */
  extraV4Rule?: string;
  extraV6Rule?: string;
}

const RAW = ['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT'];
const MANGLE = ['*mangle', ...['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'].map((c) => `:${c} ACCEPT [0:0]`), 'COMMIT'];

export function gatewayPlan(options: GatewayPlanOptions = {}): Record<PlanFileName, string> {
  const web = options.greenToOrangeWeb ?? 'ACCEPT';
  const rulesV4 = [
    ...RAW,
    ...MANGLE,
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    '-A PREROUTING -i red0 -p tcp --dport 8080 -j DNAT --to-destination 192.168.20.10:80',
    '-A POSTROUTING -o red0 -j MASQUERADE',
    'COMMIT',
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':green2fw - [0:0]',
    ':green2orange - [0:0]',
    ':blue2orange - [0:0]',
    ':red2orange - [0:0]',
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A INPUT -i green0 -j green2fw',
    '-A INPUT -j REJECT --reject-with icmp-port-unreachable',
    '-A green2fw -p tcp --dport 22 -j ACCEPT',
    '-A green2fw -p icmp -j ACCEPT',
    '-A green2fw -j REJECT',
    '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A FORWARD -m set --match-set gw_blocked src -j DROP',
    '-A FORWARD -i green0 -o red0 -j ACCEPT',
    '-A FORWARD -i green0 -o orange0 -j green2orange',
    '-A FORWARD -i blue0 -o orange0 -j blue2orange',
    '-A FORWARD -i red0 -o orange0 -j red2orange',
    `-A green2orange -p tcp --dport 80 -j ${web === 'REJECT' ? 'REJECT --reject-with tcp-reset' : web}`,
    '-A green2orange -p icmp -j ACCEPT',
    '-A green2orange -j REJECT',
    '-A blue2orange -p tcp --dport 80 -j ACCEPT',
    '-A blue2orange -j REJECT',
    '-A red2orange -p tcp -d 192.168.20.10 --dport 80 -j ACCEPT',
    ...(options.extraV4Rule ? [options.extraV4Rule] : []),
    'COMMIT',
  ];
  const rulesV6 = [
    ...RAW,
    ...MANGLE,
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    'COMMIT',
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A INPUT -p ipv6-icmp -j ACCEPT',
    '-A INPUT -i green0 -p tcp --dport 22 -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A FORWARD -i green0 -o red0 -j ACCEPT',
    `-A FORWARD -i green0 -o orange0 -p tcp --dport 80 -j ${web === 'REJECT' ? 'REJECT --reject-with tcp-reset' : web}`,
    ...(options.extraV6Rule ? [options.extraV6Rule] : []),
    'COMMIT',
  ];
  const stopped = (icmp: string) => [
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    `-A INPUT -p ${icmp} -j ACCEPT`,
    '-A INPUT -i green0 -p tcp --dport 22 -j ACCEPT',
    '-A INPUT -i green0 -p tcp --dport 980 -j ACCEPT',
    'COMMIT',
  ];
  return {
    'rules.v4': rulesV4.join('\n') + '\n',
    'rules.v6': rulesV6.join('\n') + '\n',
    ipsets: ['create gw_blocked hash:ip family inet', ...(options.blocked ?? []).map((a) => `add gw_blocked ${a}`)].join('\n') + '\n',
    'stopped.v4': stopped('icmp').join('\n') + '\n',
    'stopped.v6': stopped('ipv6-icmp').join('\n') + '\n',
    'sysctl.conf': 'net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\n',
    'summary.json': JSON.stringify({ source: 'hand-written test plan', greenToOrangeWeb: web }) + '\n',
  };
}

export async function writePlanFiles(dir: string, files: Partial<Record<PlanFileName, string>>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** A fresh temporary runtime root. */
export function temporaryRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'gatehouse-apply-'));
}

const LARGE_PLAN_RULES = 1000;

/** The gateway plan with many rules, and a marker port (both families) telling plans apart. */
export function largePlan(marker: number): ReturnType<typeof gatewayPlan> {
  const files = gatewayPlan({ blocked: Array.from({ length: 500 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${marker % 250}`) });
  const extra = (family: 4 | 6) =>
    Array.from({ length: LARGE_PLAN_RULES }, (_, i) => `-A FORWARD -i green0 -o red0 -p tcp --dport ${10000 + i} -s ${family === 4 ? `10.1.${i % 250}.0/24` : `fd00:${i % 250}::/64`} -j ACCEPT`)
      .concat(`-A OUTPUT -p udp --dport ${marker} -j ACCEPT`)
      .join('\n');
  const add = (text: string, family: 4 | 6) => text.replace(/COMMIT\n$/, `${extra(family)}\nCOMMIT\n`);
  return { ...files, 'rules.v4': add(files['rules.v4'], 4), 'rules.v6': add(files['rules.v6'], 6) };
}

/** After a lab test: kills what it started that still runs (watchdogs, applies), then removes its namespace. */
export function endProcessesAndNamespace(pids: Iterable<number>, ns: string): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  try {
    execFileSync('ip', ['netns', 'del', ns]);
  } catch {
    // already gone
  }
}
