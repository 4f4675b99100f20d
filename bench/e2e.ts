/**
 * End-to-end benchmark: `signal-event firewall-adjust` (expand, compile, apply) on a
 * database of 5,000 fwrules, applied into a namespace of its own, against
 * `iptables-restore` alone of the same rules.v4 (the kernel floor), both measured in the
 * same run. Every measured event follows a change to one rule, so it always reloads the
 * IPv4 ruleset. Also: the time from starting `signal-event` to the first probe that sees
 * the new verdict. Needs root; skips otherwise. Its namespaces are always removed.
 *
 *   green ns 192.168.1.10 ── green0 [gw] red0 203.0.113.2 ── 203.0.113.1 inet ns
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { applyPlan } from '../src/apply/index.js';
import { planPaths } from '../src/plan/index.js';
import { type DbRecord, mergeDefaults, setProps, setRecord, setRecords } from '../src/db/index.js';
import { projectDir } from '../src/layout/index.js';
import { median, timeAsync } from './_measure.js';

const RULES = 5000;
const RUNS = 5;
const PROBE_PORT = 7777;

/** 5,000 rules from green hosts to red, every kind of verdict; rule 1 is the probe's. */
function benchRules(): { key: string; record: DbRecord }[] {
  const rules: { key: string; record: DbRecord }[] = [
    { key: '1', record: { type: 'rule', props: { Position: '1', Src: 'role;green', Dst: 'role;red', Service: String(PROBE_PORT), Action: 'reject' } } },
  ];
  const actions = ['accept', 'drop', 'reject'];
  for (let i = 2; i <= RULES; i++) {
    rules.push({
      key: String(i),
      record: {
        type: 'rule',
        props: { Position: String(i * 10), Src: `192.168.1.${(i % 250) + 2}`, Dst: 'role;red', Service: String(10000 + i), Action: actions[i % 3]! },
      },
    });
  }
  return rules;
}

async function writeRoot(root: string): Promise<void> {
  await mergeDefaults(root);
  await setRecord(root, 'networks', 'green0', 'ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' });
  await setRecord(root, 'networks', 'red0', 'ethernet', { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', gateway: '203.0.113.1' });
  await setProps(root, 'configuration', 'firewall', { Policy: 'strict' });
  await setRecords(root, 'fwrules', benchRules());
}

/** `Action: EVENT NAME SUCCESS [1.234s]` and `Event: NAME SUCCESS [..]` lines -> 'EVENT NAME' / 'event NAME' -> ms. */
function durationsFromLog(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = / (Action|Event): (\S+(?: \S+)?) SUCCESS \[([\d.]+)s\]$/.exec(line);
    if (m) out.set(m[1] === 'Event' ? `event ${m[2]}` : m[2]!, Number(m[3]) * 1000);
  }
  return out;
}

async function buildNamespaces(ns: Record<'gw' | 'green' | 'inet', string>): Promise<void> {
  for (const name of Object.values(ns)) await execa('ip', ['netns', 'add', name]);
  await execa('ip', ['link', 'add', 'green0', 'netns', ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.green]);
  await execa('ip', ['link', 'add', 'red0', 'netns', ns.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.inet]);
  const batch = (name: string, lines: string[]) => execa('ip', ['-n', name, '-batch', '-'], { input: lines.join('\n') + '\n' });
  await batch(ns.gw, ['link set lo up', 'address add 192.168.1.1/24 dev green0', 'link set green0 up', 'address add 203.0.113.2/24 dev red0', 'link set red0 up']);
  await batch(ns.green, ['link set lo up', 'address add 192.168.1.10/24 dev eth0', 'link set eth0 up', 'route add default via 192.168.1.1']);
  await batch(ns.inet, ['link set lo up', 'address add 203.0.113.1/24 dev eth0', 'link set eth0 up']);
}

/** One TCP connection attempt from green to inet: true when it connects. */
function connects(ns: string): Promise<boolean> {
  return execa('ip', ['netns', 'exec', ns, 'nc', '-z', '-w', '1', '203.0.113.1', String(PROBE_PORT)], { reject: false }).then((r) => r.exitCode === 0);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.log('skipped: the end-to-end benchmark needs root (it builds network namespaces)');
    return 0;
  }
  const id = randomBytes(3).toString('hex');
  // The floor is measured in a namespace of its own: a whole-table restore into the gateway would replace
  // what Gatehouse owns there, and every event would then rewrite all its chains.
  const ns = { gw: `ghbgw-${id}`, green: `ghbgr-${id}`, inet: `ghbin-${id}`, floor: `ghbfl-${id}` };
  const cleanup = (): void => {
    for (const name of Object.values(ns)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  };
  process.once('SIGINT', () => (cleanup(), process.exit(130)));
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-bench-e2e-'));
  let listener: ReturnType<typeof spawn> | undefined;
  try {
    await buildNamespaces(ns);
    await writeRoot(root);
    const signalEvent = join(projectDir(), 'bin/signal-event.js');
    const adjust = () => execa(process.execPath, [signalEvent, '--root', root, '--apply', `netns:${ns.gw}`, 'firewall-adjust'], { env: { ...process.env, GATEHOUSE_ROOT: root } });

    await adjust(); // warm-up: first plan in place
    const rulesV4 = await readFile(join(planPaths(root).current, 'rules.v4'), 'utf8');
    const rulesV6 = await readFile(join(planPaths(root).current, 'rules.v6'), 'utf8');
    const restore = (cmd: string, input: string) => execa('ip', ['netns', 'exec', ns.floor, cmd], { input });

    const eventLog = join(root, 'var/log/gatehouse/events.log');
    const logSize = async (): Promise<number> => (await readFile(eventLog)).length;
    const perAction = new Map<string, number[]>();
    const event: number[] = [];
    const floor: number[] = [];
    const floorBoth: number[] = [];
    const applyOnly: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      floor.push(await timeAsync(() => restore('iptables-restore', rulesV4)));
      floorBoth.push(await timeAsync(async () => Promise.all([restore('iptables-restore', rulesV4), restore('ip6tables-restore', rulesV6)])));
      // A real change every run: rule 2's verdict moves on, so rules.v4 differs from the
      // running one and is reloaded (an unchanged family would not be).
      await setProps(root, 'fwrules', '2', { Action: ['accept', 'drop', 'reject'][i % 3]! });
      const before = await logSize();
      event.push(await timeAsync(adjust));
      const added = (await readFile(eventLog)).subarray(before).toString('utf8');
      for (const [name, ms] of durationsFromLog(added)) perAction.set(name, [...(perAction.get(name) ?? []), ms]);
      applyOnly.push(await timeAsync(() => applyPlan(root, { mode: { kind: 'netns', name: ns.gw }, planDir: planPaths(root).current })));
    }

    // Time to effect: rule 1 flips from reject to accept; probe until a connection gets through.
    listener = spawn('ip', ['netns', 'exec', ns.inet, 'nc', '-k', '-l', String(PROBE_PORT)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    if (await connects(ns.green)) throw new Error('the probe connects before the change: the rule under test is not in force');
    await setProps(root, 'fwrules', '1', { Action: 'accept' });
    const t0 = performance.now();
    const running = adjust();
    let seen: number | undefined;
    while (seen === undefined && performance.now() - t0 < 60_000) {
      if (await connects(ns.green)) seen = performance.now() - t0;
      else await new Promise((r) => setTimeout(r, 10));
    }
    await running;

    const f = median(floor);
    const e = median(event);
    const lines = rulesV4.split('\n').filter((l) => l.startsWith('-A')).length;
    console.log(`end-to-end firewall-adjust, ${RULES} fwrules (${lines} iptables rules in rules.v4), median of ${RUNS} runs, namespace ${ns.gw}`);
    console.log(`${f.toFixed(1).padStart(9)} ms  1.00x  iptables-restore alone of rules.v4 (the floor)`);
    console.log(`${median(floorBoth).toFixed(1).padStart(9)} ms  ${(median(floorBoth) / f).toFixed(2)}x  iptables-restore + ip6tables-restore side by side`);
    console.log(`${median(applyOnly).toFixed(1).padStart(9)} ms  ${(median(applyOnly) / f).toFixed(2)}x  applyPlan of the same plan in-process (the apply layer's share)`);
    console.log(`${e.toFixed(1).padStart(9)} ms  ${(e / f).toFixed(2)}x  signal-event firewall-adjust (process start, expand, compile, apply, both families) — goal <= 2.00x`);
    const inEvent = median(perAction.get('event firewall-adjust') ?? [NaN]);
    console.log('where the event spends its time (medians, from the event log):');
    console.log(`${(e - inEvent).toFixed(1).padStart(9)} ms  outside the actions: node start, module loading, argument parsing, lock, log`);
    for (const [name, values] of perAction) {
      if (name.startsWith('event ') || name.endsWith('S20fire-firewall-event')) continue;
      console.log(`${median(values).toFixed(1).padStart(9)} ms  ${name}`);
    }
    console.log(seen === undefined ? 'time to effect: the new verdict was never seen within 60 s' : `${seen.toFixed(1).padStart(9)} ms  time from starting signal-event to the first probe that sees the new verdict`);
    return 0;
  } finally {
    listener?.kill('SIGKILL');
    cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
