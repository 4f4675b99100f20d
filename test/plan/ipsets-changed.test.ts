/** The ipsets part builds and swaps only the sets that changed from the plan in force (src/plan/parts/ipsets.ts). */
import { describe, expect, it } from 'vitest';
import type { KernelCommand, KernelRunner } from '../../src/plan/index.js';
import { ipsetsPart } from '../../src/plan/parts/index.js';

function recorder(live: string[]): { runner: KernelRunner; inputs: string[] } {
  const inputs: string[] = [];
  const runner: KernelRunner = {
    mode: { kind: 'netns', name: 'recorded' },
    async run(c: KernelCommand) {
      if (c.args[0] === 'list') return live.join('\n') + '\n';
      if (c.input !== undefined) inputs.push(c.input);
      return '';
    },
    async preflight() {},
  };
  return { runner, inputs };
}

const set = (name: string, ...entries: string[]) => ({ name, spec: 'hash:ip family inet', entries });
const context = (before: ReturnType<typeof set>[] | undefined, inForce: boolean) => ({
  ...(before ? { before } : {}),
  beforeInForce: inForce,
  sameAsBefore: false,
  prepared: undefined,
  settled: new AbortController().signal,
});

describe('ipsets: only changed sets are swapped', () => {
  const before = [set('a', '192.0.2.1'), set('b', '192.0.2.2')];

  it('a set identical to the plan in force, and live, is left alone; a changed one is built and swapped', async () => {
    const { runner, inputs } = recorder(['a', 'b']);
    const outcome = await ipsetsPart.apply(runner, [set('a', '192.0.2.1'), set('b', '192.0.2.3')], context(before, true));
    expect(outcome.unchanged).toBeFalsy();
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).not.toMatch(/192\.0\.2\.1/);
    expect(inputs[0]).toMatch(/add gh-next-0 192\.0\.2\.3\nswap gh-next-0 b/);
  });

  it('nothing changed and every set live: nothing loaded, and the part says unchanged', async () => {
    const { runner, inputs } = recorder(['a', 'b']);
    expect((await ipsetsPart.apply(runner, before, context(before, true))).unchanged).toBe(true);
    expect(inputs).toEqual([]);
  });

  it('a set the kernel lost is built again, and nothing is skipped when the plan before is not in force', async () => {
    const lost = recorder(['b']);
    await ipsetsPart.apply(lost.runner, before, context(before, true));
    expect(lost.inputs[0]).toMatch(/rename gh-next-0 a/);
    expect(lost.inputs[0]).not.toMatch(/192\.0\.2\.2/);
    const stopped = recorder(['a', 'b']);
    await ipsetsPart.apply(stopped.runner, before, context(before, false));
    expect(stopped.inputs[0]).toMatch(/swap gh-next-0 a[\s\S]*swap gh-next-1 b/);
  });
});
