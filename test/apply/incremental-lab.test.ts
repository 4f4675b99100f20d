/**
 * One-chain changes are exact: after any sequence of random edits applied one after the
 * other (each rewriting only the chains that changed), the kernel holds exactly what a
 * fresh full load of the same plan gives, rule for rule, in both families, with the sets
 * and with another tool's rules (Docker's) beside them. Failed applies, a plan the kernel
 * lost track of (its state chain deleted by hand) and the Docker integration coming and
 * going are part of the sequence. The seed is printed, so a failure can be replayed
 * (GATEHOUSE_INCREMENTAL_SEED=<n>).
 */
import { random } from '../differential/generator.js';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/index.js';
import { parseLayout } from '../../src/plan/parts/owned.js';
import { labUnavailableReason } from '../lab/lab.js';
import { DOCKERD_COMMANDS, runIptables } from './docker.js';
import { temporaryRoot, writePlanFiles } from './plans.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const STEPS = 16;

interface Model {
  policies: Record<'INPUT' | 'FORWARD' | 'OUTPUT', 'ACCEPT' | 'DROP'>;
  /** Built-in chain -> its rules (rule text after `-A CHAIN`). */
  builtins: Record<'INPUT' | 'FORWARD' | 'OUTPUT', string[]>;
  /** User chain -> rules; a chain only jumps to chains after it (no loops). */
  chains: Map<string, string[]>;
  dnat: string[];
  masquerade: boolean;
  blocked: string[];
  docker: boolean;
}

class Plans {
  private readonly random: () => number;
  private serial = 0;
  constructor(seed: number) {
    this.random = random(seed);
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!;
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  rule(family: 4 | 6, after: string[]): string {
    const address = family === 4 ? `10.${this.int(4)}.${this.int(250)}.${this.int(250)}` : `fd00:${this.int(9)}::${this.int(250).toString(16)}`;
    const match = this.pick([
      `-s ${address}`,
      `-d ${address}`,
      `-p tcp --dport ${1 + this.int(60000)}`,
      `-p udp -m multiport --dports ${1 + this.int(999)},${1000 + this.int(999)}`,
      `-i green0 -o red0`,
      `-m conntrack --ctstate NEW -p tcp --dport ${1 + this.int(999)}`,
      `-m comment --comment "rule ${this.serial++}" -s ${address}`,
    ]);
    const target = this.pick(['ACCEPT', 'DROP', 'RETURN', 'REJECT', ...(after.length > 0 ? [`jump`] : [])]);
    return `${match} -j ${target === 'jump' ? this.pick(after) : target}`;
  }

  initial(): Model {
    const m: Model = {
      policies: { INPUT: 'DROP', FORWARD: 'DROP', OUTPUT: 'ACCEPT' },
      builtins: { INPUT: ['-i lo -j ACCEPT', '-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'], FORWARD: ['-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'], OUTPUT: [] },
      chains: new Map(),
      dnat: ['-i red0 -p tcp --dport 8080 -j DNAT --to-destination 192.168.20.10:80'],
      masquerade: true,
      blocked: ['192.0.2.7'],
      docker: false,
    };
    for (let i = 0; i < 12; i++) m.chains.set(`zone${i}`, []);
    const names = [...m.chains.keys()];
    names.forEach((name, i) => {
      m.chains.set(name, Array.from({ length: 4 + this.int(12) }, () => this.rule(4, names.slice(i + 1))));
    });
    for (const name of names.slice(0, 6)) m.builtins.FORWARD.push(`-i green0 -o ${this.pick(['red0', 'orange0', 'blue0'])} -j ${name}`);
    m.builtins.INPUT.push(`-i green0 -j ${names[6]}`);
    // A zone pair of 1,500 rules: kept in the kernel in pieces (src/plan/parts/owned.ts).
    m.chains.set('big', Array.from({ length: 1500 }, () => this.bigRule()));
    m.builtins.FORWARD.push('-i green0 -o red0 -j big');
    return m;
  }

  bigRule(): string {
    return `-s 10.${this.int(4)}.${this.int(250)}.${this.int(250)} -p tcp --dport ${1 + this.int(60000)} -j ${this.pick(['ACCEPT', 'DROP', 'REJECT'])}`;
  }

  /** One random edit, described for the failure message. */
  edit(m: Model, forced?: number): string {
    const names = [...m.chains.keys()].filter((n) => n !== 'big');
    const which = forced ?? this.int(13);
    const chain = this.pick(names);
    const rules = m.chains.get(chain)!;
    const after = names.slice(names.indexOf(chain) + 1);
    switch (which) {
      case 0:
      case 1:
      case 2: {
        if (rules.length === 0) return this.edit(m);
        const i = this.int(rules.length);
        rules[i] = this.rule(4, after);
        return `change rule ${i} of ${chain}`;
      }
      case 3:
        rules.splice(this.int(rules.length + 1), 0, this.rule(4, after));
        return `add a rule to ${chain}`;
      case 4:
        if (rules.length === 0) return this.edit(m);
        rules.splice(this.int(rules.length), 1);
        return `remove a rule of ${chain}`;
      case 5: {
        const name = `extra${this.serial++}`;
        m.chains.set(name, [this.rule(4, []), this.rule(4, [])]);
        m.builtins.FORWARD.push(`-i blue0 -j ${name}`);
        return `add chain ${name}, jumped to from FORWARD`;
      }
      case 6: {
        const gone = this.pick(names.filter((n) => n !== 'zone0'));
        m.chains.delete(gone);
        const jumpsTo = (r: string) => r.endsWith(`-j ${gone}`);
        for (const list of [...m.chains.values(), ...Object.values(m.builtins)]) {
          for (let i = list.length - 1; i >= 0; i--) if (jumpsTo(list[i]!)) list.splice(i, 1);
        }
        return `remove chain ${gone} and every jump to it`;
      }
      case 7: {
        const b = this.pick(['INPUT', 'FORWARD', 'OUTPUT'] as const);
        m.policies[b] = m.policies[b] === 'DROP' ? 'ACCEPT' : 'DROP';
        return `flip the policy of ${b}`;
      }
      case 8:
        if (m.builtins.OUTPUT.length > 0) {
          m.builtins.OUTPUT = [];
          return 'OUTPUT loses all its rules (its hook goes)';
        }
        m.builtins.OUTPUT = ['-o lo -j ACCEPT', this.rule(4, ['zone0'])];
        return 'OUTPUT gets rules (a hook comes)';
      case 9:
        if (this.random() < 0.5) m.dnat.push(`-i red0 -p tcp --dport ${9000 + this.int(900)} -j DNAT --to-destination 192.168.20.${10 + this.int(50)}:80`);
        else m.masquerade = !m.masquerade;
        // A set holds an address once (ipset refuses a second add), so an address already in is not added again.
        m.blocked = this.random() < 0.5 ? [...new Set([...m.blocked, `192.0.2.${this.int(250)}`])] : m.blocked.slice(1);
        return 'change nat and the blocked set';
      case 11:
      case 12: {
        const big = m.chains.get('big')!;
        const i = this.int(big.length);
        if (which === 11) big[i] = this.bigRule();
        else if (this.random() < 0.5) big.splice(i, 0, this.bigRule());
        else big.splice(i, 1);
        return `${which === 11 ? 'change' : 'add or remove'} rule ${i} of big`;
      }
      default:
        m.docker = !m.docker;
        return `Docker integration ${m.docker ? 'on' : 'off'}`;
    }
  }
}

function rulesV4(m: Model, extra?: string): string {
  const out = ['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':dnat@red - [0:0]'];
  out.push('-A PREROUTING -i red0 -j dnat@red', ...(m.masquerade ? ['-A POSTROUTING -o red0 -j MASQUERADE'] : []), ...m.dnat.map((r) => `-A dnat@red ${r}`), 'COMMIT');
  out.push('*filter', ...(['INPUT', 'FORWARD', 'OUTPUT'] as const).map((b) => `:${b} ${m.policies[b]} [0:0]`));
  for (const name of m.chains.keys()) out.push(`:${name} - [0:0]`);
  if (m.docker) out.push(':DOCKER-USER - [0:0]');
  out.push(...m.builtins.INPUT.map((r) => `-A INPUT ${r}`));
  out.push(`-A FORWARD -m set --match-set inc_blocked src -j DROP`);
  const forward = m.builtins.FORWARD.map((r) => `-A ${m.docker ? 'DOCKER-USER' : 'FORWARD'} ${r}`);
  if (m.docker) out.push('-A FORWARD -j DOCKER-USER');
  out.push(...forward, ...m.builtins.OUTPUT.map((r) => `-A OUTPUT ${r}`));
  for (const [name, rules] of m.chains) out.push(...rules.map((r) => `-A ${name} ${r}`));
  if (extra) out.push(extra);
  out.push('COMMIT');
  // The blocked-set rule sits in FORWARD: with the integration on, FORWARD only jumps to DOCKER-USER.
  return (m.docker ? out.map((l) => (l === '-A FORWARD -m set --match-set inc_blocked src -j DROP' ? '-A DOCKER-USER -m set --match-set inc_blocked src -j DROP' : l)) : out).join('\n') + '\n';
}

function planFiles(m: Model, extra?: string) {
  const six = ['*filter', `:INPUT ${m.policies.INPUT} [0:0]`, ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':v6zone - [0:0]', '-A INPUT -i lo -j ACCEPT', '-A FORWARD -j v6zone', ...[...m.chains.keys()].slice(0, 3).map((n) => `-A v6zone -m comment --comment ${n} -j RETURN`), 'COMMIT'];
  const stopped = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', '-A INPUT -i lo -j ACCEPT', 'COMMIT'].join('\n') + '\n';
  return {
    'rules.v4': rulesV4(m, extra),
    'rules.v6': six.join('\n') + '\n',
    ipsets: ['create inc_blocked hash:ip family inet', ...m.blocked.map((a) => `add inc_blocked ${a}`)].join('\n') + '\n',
    'stopped.v4': stopped,
    'stopped.v6': stopped,
    'sysctl.conf': 'net.ipv4.ip_forward = 1\n',
  };
}

/** table:chain -> its rules, rules of built-in chains under Gatehouse's chain for them (as the kernel holds them). */
function chainsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const declared = /^:(\S+) - /.exec(line);
    if (declared && declared[1] !== 'DOCKER-USER') out.set(`${table}:${declared[1]}`, out.get(`${table}:${declared[1]}`) ?? '');
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (!rule || rule[2] === '-j DOCKER-USER') continue;
    const chain = /^[A-Z]/.test(rule[1]!) ? `gatehouse-${rule[1]}` : rule[1]!;
    out.set(`${table}:${chain}`, (out.get(`${table}:${chain}`) ?? '') + rule[2] + '\n');
  }
  return out;
}

/** How many chains differ between two plans' rulesets (changed, new or gone). */
/**
 * Chains whose rules differ between the layouts of two rulesets, long chains in their pieces:
 * what a change from one to the other rewrites.
 */
function changedLayoutChains(before: string, after: string): number {
  const chains = (text: string) => new Map(parseLayout(text, 'rules.v4').tables.flatMap((t) => [...t.chains].map(([c, rules]) => [`${t.table}:${c}`, rules.join('\n')] as const)));
  const a = chains(before);
  const b = chains(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).length;
}

function changedChains(before: string, after: string): number {
  const a = chainsOf(before);
  const b = chainsOf(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).length;
}

/** A save reduced to what must be equal: no counters or dates; chains sorted, each chain's rules in order. */
function normalise(save: string): string {
  const out: string[] = [];
  let decl: string[] = [];
  let rules = new Map<string, string[]>();
  for (const raw of save.split('\n')) {
    const line = raw.trim().replace(/\s+\[\d+:\d+\]$/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      out.push(line);
      decl = [];
      rules = new Map();
    } else if (line.startsWith(':')) decl.push(line);
    else if (line === 'COMMIT') {
      out.push(...decl.sort());
      for (const chain of [...rules.keys()].sort()) out.push(...rules.get(chain)!);
      out.push('COMMIT');
    } else {
      const chain = line.split(' ')[1]!;
      rules.set(chain, [...(rules.get(chain) ?? []), line]);
    }
  }
  return out.join('\n') + '\n';
}

describe.skipIf(why)('incremental applies equal a full load, rule for rule, over random edit sequences', () => {
  const id = randomBytes(3).toString('hex');
  const live = `ghinc-${id}`;
  const names: string[] = [live];
  const roots: string[] = [];
  const seed = Number(process.env['GATEHOUSE_INCREMENTAL_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
  const removeAll = () => {
    for (const n of names) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  };

  const inNs = async (ns: string, command: string, args: string[] = []) => (await execa('ip', ['netns', 'exec', ns, command, ...args])).stdout;
  const kernelOf = async (ns: string) => {
    const [v4, v6, sets] = await Promise.all([inNs(ns, 'iptables-save'), inNs(ns, 'ip6tables-save'), inNs(ns, 'ipset', ['save'])]);
    return { v4: normalise(v4), v6: normalise(v6), sets: sets.split('\n').filter((l) => l !== '').map((l) => l.replace(/ initval 0x[0-9a-f]+/, '')).sort().join('\n') };
  };
  /** A namespace as a Docker host has it before Gatehouse runs: dockerd's rules in place. */
  const dockerHost = async (ns: string) => {
    await execa('ip', ['netns', 'add', ns]);
    await runIptables(ns, DOCKERD_COMMANDS);
  };

  beforeAll(async () => {
    process.once('exit', removeAll);
    console.log(`incremental-lab seed ${seed} (replay with GATEHOUSE_INCREMENTAL_SEED=${seed})`);
    await dockerHost(live);
  });
  afterAll(async () => {
    removeAll();
    process.off('exit', removeAll);
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it(`${STEPS} random edits, each applied incrementally, each compared with a fresh full load`, async () => {
    const plans = new Plans(seed);
    const model = plans.initial();
    const root = await temporaryRoot();
    roots.push(root);
    const mode = { kind: 'netns' as const, name: live };
    // iptables-restore as the incremental applies run it: a wrapper first in PATH keeps each input.
    const bin = join(root, 'bin');
    const inputs = join(root, 'restores');
    await mkdir(bin);
    await mkdir(inputs);
    const real = spawnSync('sh', ['-c', 'command -v iptables-restore'], { encoding: 'utf8' }).stdout.trim();
    await writeFile(join(bin, 'iptables-restore'), `#!/bin/sh\nf=${inputs}/$(date +%s%N)\ncat > "$f"\nexec ${real} "$@" < "$f"\n`);
    await chmod(join(bin, 'iptables-restore'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` };
    const restoresSince = async (seen: Set<string>) => {
      const fresh = (await readdir(inputs)).filter((f) => !seen.has(f)).sort();
      fresh.forEach((f) => seen.add(f));
      return Promise.all(fresh.map((f) => readFile(join(inputs, f), 'utf8')));
    };
    const seen = new Set<string>();
    let incremental = 0;
    let previous = planFiles(model)['rules.v4'];
    await applyPlan(root, { mode, env, planDir: await writePlanFiles(join(root, 'p0'), planFiles(model)) });
    await restoresSince(seen);
    const history: string[] = ['initial plan'];
    for (let step = 1; step <= STEPS; step++) {
      // Steps 1 and 9 change the 1,500-rule chain, whatever the draw.
      const what = plans.edit(model, step % 8 === 1 ? 11 + (step >> 3) : undefined);
      history.push(what);
      const slow = what.startsWith('Docker integration');
      const dir = await writePlanFiles(join(root, `p${step}`), planFiles(model));
      if (step % 8 === 4) {
        // A plan the kernel refuses: rolled back, the kernel must still equal a full load of the plan in force.
        const bad = await writePlanFiles(join(root, `bad${step}`), planFiles(model, `-A zone0 -m no-such-match-module -j ACCEPT`));
        await expect(applyPlan(root, { mode, env, planDir: bad })).rejects.toThrow(/back in force/);
        history.push('(a refused plan, rolled back)');
      }
      if (step % 8 === 6) {
        // (also below: the assertions on the restores do not apply to this step)
        const state = /^-N (gatehouse-state-\S+)$/m.exec(await inNs(live, 'iptables', ['-S']))![1]!;
        await inNs(live, 'iptables', ['-X', state]);
        history.push('(the state chain deleted by hand: the next apply must rewrite everything)');
      }
      await restoresSince(seen);
      const outcome = await applyPlan(root, { mode, env, planDir: dir });
      expect(outcome.warnings, `seed ${seed}`).toEqual([]);
      const current = planFiles(model)['rules.v4'];
      const restores = await restoresSince(seen);
      if (!slow && step % 8 !== 6) {
        // The kernel held the plan before: one restore, checked by its state chain, rewriting a few chains
        // only; then Gatehouse's jumps put first again (a second, small restore).
        expect(restores, `seed ${seed}: ${history.join(' / ')}`).toHaveLength(2);
        expect(restores[0], `seed ${seed}: ${what}`).toMatch(/^-X gatehouse-state-/m);
        expect(restores[0], `seed ${seed}: ${what}`).not.toMatch(/^-C /m);
        expect(restores[1], `seed ${seed}: ${what}`).toMatch(/^-I (FORWARD 1 -j gatehouse-FORWARD|DOCKER-USER 1 -j gatehouse-DOCKER-USER)$/m);
        const rewritten = restores[0]!.split('\n').filter((l) => /^:[a-z]/.test(l) && !l.startsWith(':gatehouse-state-'));
        // A change in the 1,500-rule chain rewrites the pieces that differ and its chain of jumps: usually one
        // piece, or the two a rule joins or splits; when that moves a piece cut at PIECE_MAX rules, the cut after
        // it moves too (seeds 1724973302 and 1108768326 rewrite 5 chains). Never more than a few.
        if (what.includes('of big')) {
          expect(rewritten.length, `seed ${seed}, ${what}: ${rewritten.join(', ')}`).toBe(changedLayoutChains(previous, current));
          expect(rewritten.length, `seed ${seed}, ${what}: ${rewritten.join(', ')}`).toBeLessThanOrEqual(8);
        }
        else expect(rewritten.length, `seed ${seed}, ${what}: ${rewritten.join(', ')}`).toBe(changedChains(previous, planFiles(model)['rules.v4']));
        expect(rewritten.length, `seed ${seed}, ${what}`).toBeLessThan(chainsOf(previous).size / 2);
        incremental++;
      }

      const fresh = `ghincf-${id}-${step}`;
      names.push(fresh);
      await dockerHost(fresh);
      const freshRoot = await temporaryRoot();
      roots.push(freshRoot);
      await applyPlan(freshRoot, { mode: { kind: 'netns', name: fresh }, planDir: dir });
      const [got, want] = await Promise.all([kernelOf(live), kernelOf(fresh)]);
      await execa('ip', ['netns', 'del', fresh]);
      const context = `seed ${seed}, step ${step}: ${history.join(' / ')}`;
      expect(got.v4, context).toBe(want.v4);
      expect(got.v6, context).toBe(want.v6);
      expect(got.sets, context).toBe(want.sets);
      previous = current;
    }
    expect(incremental).toBeGreaterThan(STEPS / 2);
  }, 600_000);
});
