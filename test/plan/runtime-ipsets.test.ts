/**
 * An apply never writes the content of a live run-time set (src/plan/parts/runtime-ipsets.ts):
 * an API may change it at any moment of the apply, and its changes must all stay in force.
 * The kernel here is a small model of ipset (create, add, del, swap, rename, destroy, list, save).
 */
import { describe, expect, it } from 'vitest';
import { runtimeIpsetsPart } from '../../src/plan/parts/runtime-ipsets.js';
import type { KernelCommand, KernelRunner } from '../../src/plan/target.js';

interface ModelSet {
  spec: string;
  elements: Map<string, string>;
}

/** ipset's semantics for the commands an apply runs, each command whole (as the kernel does each one). */
class IpsetModel {
  readonly sets = new Map<string, ModelSet>();

  line(text: string, exist: boolean): void {
    const words = text.trim().split(/\s+/);
    let [verb, ...rest] = words;
    if (rest[0] === '-exist') {
      exist = true;
      rest = rest.slice(1);
    }
    const [name, ...args] = rest;
    const set = this.sets.get(name!);
    const fail = (why: string) => {
      throw new Error(`ipset: ${text}: ${why}`);
    };
    switch (verb) {
      case 'create':
        if (set && !(exist && set.spec === args.join(' '))) fail('set with the same name already exists');
        if (!set) this.sets.set(name!, { spec: args.join(' '), elements: new Map() });
        return;
      case 'add':
        if (!set) fail('no such set');
        if (set!.elements.has(args[0]!) && !exist) fail('already added');
        set!.elements.set(args[0]!, args.slice(1).join(' '));
        return;
      case 'del':
        if (!set) fail('no such set');
        if (!set!.elements.delete(args[0]!) && !exist) fail('not added');
        return;
      case 'swap': {
        const other = this.sets.get(args[0]!);
        if (!set || !other) fail('no such set');
        this.sets.set(name!, other!);
        this.sets.set(args[0]!, set!);
        return;
      }
      case 'rename':
        if (!set) fail('no such set');
        if (this.sets.has(args[0]!)) fail('a set with the new name already exists');
        this.sets.delete(name!);
        this.sets.set(args[0]!, set!);
        return;
      case 'destroy':
        if (!set) fail('no such set');
        this.sets.delete(name!);
        return;
      default:
        fail('not modelled');
    }
  }

  run(c: KernelCommand): string {
    if (c.command !== 'ipset') throw new Error(`not ipset: ${c.command}`);
    const [verb, ...args] = c.args;
    if (verb === 'restore') {
      for (const l of (c.input ?? '').split('\n')) if (l.trim() !== '') this.line(l, args.includes('-exist'));
      return '';
    }
    if (verb === 'list' && args[0] === '-n') return [...this.sets.keys()].join('\n') + '\n';
    // `Header:` is the spec without its type, as ipset prints it.
    if (verb === 'list' && args[0] === '-t') return [...this.sets].map(([n, s]) => `Name: ${n}\nHeader: ${s.spec.split(' ').slice(1).join(' ')}\n`).join('');
    if (verb === 'save') {
      const set = this.sets.get(args[0]!)!;
      return [`create ${args[0]} ${set.spec}`, ...[...set.elements].map(([e, o]) => `add ${args[0]} ${e}${o ? ' ' + o : ''}`)].join('\n') + '\n';
    }
    this.line(c.args.join(' '), false);
    return '';
  }
}

const OLD = 'hash:net family inet maxelem 1048576 timeout 0';
const DECLARED = `${OLD} counters`;

/**
 * Applies the part while an API changes set `s`: `changes[i]` runs just before kernel
 * command number `at[i]` of the apply (or after its last one), as a running API would.
 */
async function applyDuring(initial: string[], changes: ((kernel: IpsetModel) => void)[], at: number[]): Promise<IpsetModel> {
  const kernel = new IpsetModel();
  kernel.sets.set('s', { spec: OLD, elements: new Map(initial.map((e) => [e, 'timeout 0'])) });
  let commands = 0;
  const due = () => changes.forEach((change, i) => at[i] === commands && change(kernel));
  const target = {
    mode: { kind: 'netns', name: 'model' },
    async run(c: KernelCommand) {
      due();
      commands++;
      return kernel.run(c);
    },
    async preflight() {},
  } as unknown as KernelRunner;
  await runtimeIpsetsPart.apply(target, [{ name: 's', spec: DECLARED }], { sameAsBefore: false, prepared: undefined, settled: new AbortController().signal });
  for (let i = 0; i < changes.length; i++) if (at[i]! >= commands) changes[i]!(kernel);
  return kernel;
}

const put = (element: string) => (k: IpsetModel) => k.line(`add -exist s ${element} timeout 0`, false);
const del = (element: string) => (k: IpsetModel) => k.line(`del -exist s ${element}`, false);

/** Every way two changes can fall between the commands of an apply (it runs fewer than 8). */
const PLACES = Array.from({ length: 8 }, (_, i) => i).flatMap((i) => Array.from({ length: 8 - i }, (_, j) => [i, i + j]));

describe('an apply while the API changes a run-time set made without counters', () => {
  it('a DELETE then PUT of the same entry, anywhere in the apply, leaves it dropped (false accept otherwise)', async () => {
    for (const at of PLACES) {
      const kernel = await applyDuring(['203.0.113.7', '203.0.113.8'], [del('203.0.113.7'), put('203.0.113.7')], at);
      expect([...kernel.sets.get('s')!.elements.keys()].sort(), `false accept: DELETE before command ${at[0]}, PUT before command ${at[1]}`).toEqual(['203.0.113.7', '203.0.113.8']);
    }
  });

  it('a PUT then DELETE, anywhere in the apply, leaves nothing behind (false accept in an accept set)', async () => {
    for (const at of PLACES) {
      const kernel = await applyDuring(['203.0.113.8'], [put('198.51.100.9'), del('198.51.100.9')], at);
      expect([...kernel.sets.get('s')!.elements.keys()], `PUT before command ${at[0]}, DELETE before command ${at[1]}`).toEqual(['203.0.113.8']);
    }
  });

  it('the apply leaves the set, and its options, to the API (which migrates it at its start); a leftover of an older migration goes', async () => {
    const kernel = await applyDuring(['203.0.113.7'], [(k) => k.line(`create gh-migrate-set ${OLD}`, false)], [0]);
    expect([...kernel.sets.keys()]).toEqual(['s']);
    expect(kernel.sets.get('s')!.spec).toBe(OLD);
  });

  it('a missing set is created with the declared options', async () => {
    const kernel = await applyDuring([], [(k) => k.sets.delete('s')], [0]);
    expect(kernel.sets.get('s')).toEqual({ spec: DECLARED, elements: new Map() });
  });
});
