/** The generator gives the same files for the same seed, and every case compiles. */
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/index.js';
import { parseShorewall } from '../../src/shorewall/index.js';
import { generateCase } from './generator.js';

describe('generated configurations', () => {
  it('are a function of the seed', () => {
    expect(generateCase(7)).toEqual(generateCase(7));
    expect(generateCase(7).files['rules']).not.toBe(generateCase(8).files['rules']);
  });

  it('include exclusions inside lists (a!b) among the first seeds', () => {
    const rules = Array.from({ length: 20 }, (_, i) => generateCase(i + 1).files['rules']).join('');
    expect(rules).toMatch(/:\d+\.\d+\.\d+\.\d+\/\d+!\d+\.\d+\.\d+\.\d+ /);
  });

  it('all compile (seeds 1 to 200)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const c = generateCase(seed);
      expect(() => compile(parseShorewall(c.files, { family: 4, dir: `seed-${seed}` }), undefined), `seed ${seed}:\n${c.files['rules']}`).not.toThrow();
    }
  });
});
