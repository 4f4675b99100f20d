/**
 * One-rule change benchmark: a database of 5,000 fwrules, one rule changed, then
 * `signal-event firewall-adjust` as typed (a new process: expand, compile, apply), applied
 * into a namespace of its own. Against, in the same run and interleaved with it:
 * `iptables-restore` of the whole rules.v4 into an empty namespace of its own (the
 * full-restore floor), and the same event when the kernel no longer holds the plan before
 * as it was left (its state chain deleted by hand: every chain Gatehouse owns is rewritten).
 * The apply action's own time comes from the event log. Medians of RUNS runs; the load
 * average is printed before and after, since this machine is shared. Needs root.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type DbRecord, mergeDefaults, setProps, setRecord, setRecords } from '../src/db/index.js';
import { projectDir } from '../src/layout/index.js';
import { planPaths } from '../src/plan/index.js';
import { median, timeAsync } from './_measure.js';

const RULES = 5000;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 7);

function benchRules(): { key: string; record: DbRecord }[] {
  const actions = ['accept', 'drop', 'reject'];
  const rules: { key: string; record: DbRecord }[] = [];
  for (let i = 1; i <= RULES; i++) {
    rules.push({
      key: String(i),
      record: { type: 'rule', props: { Position: String(i * 10), Src: `192.168.1.${(i % 250) + 2}`, Dst: 'role;red', Service: String(10000 + i), Action: actions[i % 3]! } },
    });
  }
  return rules;
}

function durations(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = / (Action|Event): (\S+(?: \S+)?) SUCCESS \[([\d.]+)s\]$/.exec(line);
    if (m) out.set(m[1] === 'Event' ? `event ${m[2]}` : m[2]!, Number(m[3]) * 1000);
  }
  return out;
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.log('skipped: the one-rule benchmark needs root (it builds network namespaces)');
    return 0;
  }
  const id = randomBytes(3).toString('hex');
  const gw = `ghb1gw-${id}`;
  const floorNs = `ghb1fl-${id}`;
  const cleanup = (): void => {
    for (const name of [gw, floorNs]) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  };
  process.once('SIGINT', () => (cleanup(), process.exit(130)));
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-bench-onerule-'));
  try {
    const loadBefore = load();
    for (const name of [gw, floorNs]) await execa('ip', ['netns', 'add', name]);
    await execa('ip', ['-n', gw, '-batch', '-'], {
      input: ['link add green0 type veth peer name green1', 'link add red0 type veth peer name red1', 'address add 192.168.1.1/24 dev green0', 'address add 203.0.113.2/24 dev red0', 'link set green0 up', 'link set red0 up', 'link set lo up'].join('\n') + '\n',
    });
    await mergeDefaults(root);
    await setRecord(root, 'networks', 'green0', 'ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' });
    await setRecord(root, 'networks', 'red0', 'ethernet', { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', gateway: '203.0.113.1' });
    await setProps(root, 'configuration', 'firewall', { Policy: 'strict' });
    await setRecords(root, 'fwrules', benchRules());

    const signalEvent = join(projectDir(), 'bin/signal-event.js');
    const adjust = () => execa(process.execPath, [signalEvent, '--root', root, '--apply', `netns:${gw}`, 'firewall-adjust'], { env: { ...process.env, GATEHOUSE_ROOT: root } });
    await adjust(); // the first plan in place
    const eventLog = join(root, 'var/log/gatehouse/events.log');
    const logSize = async (): Promise<number> => (await readFile(eventLog)).length;

    // The floor namespace gets the plan's sets once (rules name them); only the restore is timed.
    const current = planPaths(root).current;
    const sets = ['ipsets', 'runtime-ipsets'].map((f) => readFile(join(current, f), 'utf8').catch(() => ''));
    await execa('ip', ['netns', 'exec', floorNs, 'ipset', 'restore', '-exist'], { input: (await Promise.all(sets)).join('\n') });
    const floor: number[] = [];
    const oneRule: number[] = [];
    const oneRuleApply: number[] = [];
    const whole: number[] = [];
    const wholeApply: number[] = [];
    const change = async (i: number, into: number[], applyInto: number[]) => {
      await setProps(root, 'fwrules', '2', { Action: ['accept', 'drop', 'reject'][i % 3]! });
      const before = await logSize();
      into.push(await timeAsync(adjust));
      const apply = [...durations((await readFile(eventLog)).subarray(before).toString('utf8'))].find(([name]) => /apply/.test(name) && !name.startsWith('event'));
      applyInto.push(apply?.[1] ?? NaN);
    };
    let rulesV4 = '';
    for (let i = 0; i < RUNS; i++) {
      rulesV4 = await readFile(join(planPaths(root).current, 'rules.v4'), 'utf8');
      floor.push(await timeAsync(() => execa('ip', ['netns', 'exec', floorNs, 'iptables-restore'], { input: rulesV4 })));
      await change(2 * i, oneRule, oneRuleApply);
      // The kernel no longer as the plan before left it: the same event rewrites every owned chain.
      const state = /^-N (gatehouse-state-\S+)$/m.exec((await execa('ip', ['netns', 'exec', gw, 'iptables', '-S'])).stdout)![1]!;
      await execa('ip', ['netns', 'exec', gw, 'iptables', '-X', state]);
      await change(2 * i + 1, whole, wholeApply);
    }

    const f = median(floor);
    const lines = rulesV4.split('\n').filter((l) => l.startsWith('-A')).length;
    const row = (ms: number, what: string) => console.log(`${ms.toFixed(1).padStart(9)} ms  ${(ms / f).toFixed(2)}x  ${what}`);
    console.log(`one-rule change, ${RULES} fwrules (${lines} iptables rules in rules.v4), median of ${RUNS} runs; load average before ${loadBefore}, after ${load()} (2 cores)`);
    row(f, 'iptables-restore of the whole rules.v4 into an empty namespace (the full-restore floor)');
    row(Math.max(...oneRule), 'signal-event firewall-adjust after a one-rule change, slowest run (conservative)');
    row(median(oneRule), 'signal-event firewall-adjust after a one-rule change (expand, compile, apply of the changed chains) — goal <= 0.50x');
    row(median(oneRuleApply), '  of which the apply action (changed chains only, both families, sets, sysctls)');
    row(median(whole), 'signal-event firewall-adjust after a one-rule change, kernel not as left (every owned chain rewritten)');
    row(median(wholeApply), '  of which the apply action (iptables-save, then every owned chain rewritten)');
    return 0;
  } finally {
    cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
