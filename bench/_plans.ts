/**
 * The plan shapes the apply benchmarks load (shared by bench/apply.ts and bench/apply-commands.ts):
 * rules spread over zone-pair chains, every verdict, one port that a variant changes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const ZONES = ['green', 'blue', 'orange', 'red'];

function builtins(table: string): string[] {
  const chains: Record<string, string[]> = {
    raw: ['PREROUTING', 'OUTPUT'],
    mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
    nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  };
  return [`*${table}`, ...(chains[table] ?? []).map((c) => `:${c} ACCEPT [0:0]`), 'COMMIT'];
}

/** A filter table with `rules` rules spread over the zone-pair chains; `variant` changes one port. */
export function zonePairRuleset(family: 4 | 6, rules: number, variant = 0): string {
  const pairs = ZONES.flatMap((a) => ZONES.filter((b) => b !== a).map((b) => [a, b] as const));
  const lines = [...builtins('raw'), ...builtins('mangle'), ...builtins('nat'), '*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]'];
  for (const [a, b] of pairs) lines.push(`:${a}2${b} - [0:0]`);
  lines.push('-A INPUT -i lo -j ACCEPT', '-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT');
  lines.push('-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT', '-A FORWARD -m conntrack --ctstate INVALID -j DROP');
  for (const [a, b] of pairs) lines.push(`-A FORWARD -i ${a}0 -o ${b}0 -j ${a}2${b}`);
  for (let i = 0; i < rules; i++) {
    const [a, b] = pairs[i % pairs.length]!;
    const host = family === 4 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `fd00:${(i >> 8).toString(16)}::${(i & 255).toString(16)}`;
    const verdict = i % 3 === 0 ? 'REJECT' : i % 3 === 1 ? 'DROP' : 'ACCEPT';
    const port = i === 0 ? 60000 + variant : 1024 + (i % 50000);
    lines.push(`-A ${a}2${b} -s ${host} -p ${i % 2 ? 'udp' : 'tcp'} --dport ${port} -j ${verdict}`);
  }
  for (const [a, b] of pairs) lines.push(`-A ${a}2${b} -j ${b === 'red' ? 'ACCEPT' : 'REJECT'}`);
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

export const STOPPED = '*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n';

/** A plan directory holding the two rulesets, a 200-entry set, the stopped rulesets and sysctls. */
export async function writeBenchPlan(dir: string, v4: string, v6: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {
    'rules.v4': v4,
    'rules.v6': v6,
    ipsets: ['create bench_blocked hash:ip family inet', ...Array.from({ length: 200 }, (_, i) => `add bench_blocked 192.0.2.${i}`)].join('\n') + '\n',
    'stopped.v4': STOPPED,
    'stopped.v6': STOPPED,
    'sysctl.conf': 'net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\n',
    'summary.json': '{"bench":true}\n',
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}
