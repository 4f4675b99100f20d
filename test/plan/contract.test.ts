/**
 * The part contract, with parts and a runner made up for the test: dependency order,
 * rollback of the parts already applied in reverse order, and removal of parts a new plan
 * no longer holds.
 */
import { describe, expect, it } from 'vitest';
import { PartFailure, runParts } from '../../src/apply/index.js';
import { type AnyPlanPart, type KernelRunner, type LoadedPlan, definePart, orderParts } from '../../src/plan/index.js';

function recorder(): { runner: KernelRunner; log: string[] } {
  const log: string[] = [];
  const runner: KernelRunner = {
    mode: { kind: 'netns', name: 'gh-test-unused' },
    async preflight() {},
    async run(c) {
      log.push(c.step);
      return '';
    },
  };
  return { runner, log };
}

function part(name: string, needs: string[], fails = false): AnyPlanPart {
  return definePart<string>({
    name,
    describe: `test part ${name}`,
    files: [name],
    needs,
    required: false,
    parse: (files) => files[name]!,
    commands: () => [],
    async apply(target, content) {
      await target.run({ step: `apply ${name} ${content}`, command: 'true', args: [] });
      if (fails) throw new Error(`${name} refused`);
      return {};
    },
    async rollback(target, { before }) {
      await target.run({ step: `rollback ${name} to ${before ?? 'nothing'}`, command: 'true', args: [] });
    },
    async stop(target, content) {
      await target.run({ step: `stop ${name} ${content}`, command: 'true', args: [] });
    },
    status: async () => [],
  });
}

function plan(parts: AnyPlanPart[], version: string): LoadedPlan {
  return {
    dir: `/plans/${version}`,
    plan: { parts: Object.fromEntries(parts.map((p) => [p.name, { [p.name]: version }])), summary: {}, inputs: {} },
    parts: orderParts(parts).map((p) => ({ part: p, content: version, digest: `${p.name}-${version}` })),
    files: {},
    digests: {},
  };
}

describe('the part contract', () => {
  it('orders every part after the parts it needs, keeping the listed order otherwise', () => {
    const order = orderParts([part('c', ['b']), part('a', []), part('b', ['a']), part('d', [])]).map((p) => p.name);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses parts that need each other in a circle', () => {
    expect(() => orderParts([part('a', ['b']), part('b', ['a'])])).toThrow(/circle/);
  });

  it('when a later part fails, the parts already applied are rolled back in reverse order, the failing one first', async () => {
    const { runner, log } = recorder();
    const parts = [part('a', []), part('b', ['a']), part('c', ['b'], true), part('d', ['c'])];
    const e = await runParts(runner, plan(parts, 'new'), { before: plan(parts, 'old') }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(PartFailure);
    expect((e as PartFailure).part).toBe('c');
    expect((e as PartFailure).outcome).toBe('the previous plan is back in force');
    expect(log).toEqual(['apply a new', 'apply b new', 'apply c new', 'rollback c to old', 'rollback b to old', 'rollback a to old']);
  });

  it('with no plan before, a failure rolls back to nothing and says the stopped state is loaded', async () => {
    const { runner, log } = recorder();
    const e = (await runParts(runner, plan([part('a', []), part('b', ['a'], true)], 'new')).catch((err: unknown) => err)) as PartFailure;
    expect(e.outcome).toMatch(/there was no previous plan, so the stopped ruleset is loaded/);
    expect(log.slice(-2)).toEqual(['rollback b to nothing', 'rollback a to nothing']);
  });

  it('a part the new plan no longer holds is stopped once the new plan is in', async () => {
    const { runner, log } = recorder();
    await runParts(runner, plan([part('a', [])], 'new'), { before: plan([part('a', []), part('shaping', ['a'])], 'old') });
    expect(log).toEqual(['apply a new', 'stop shaping old']);
  });
});
