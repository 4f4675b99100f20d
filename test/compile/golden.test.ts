import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPECTED_FILES, compileScenario, scenarios } from './scenarios.js';

const update = process.env['UPDATE_GOLDEN'] === '1';

describe.each(scenarios())('golden scenario $name', (s) => {
  it(`compiles to the expected plan files (${s.purpose})`, async () => {
    const { files } = await compileScenario(s);
    for (const name of EXPECTED_FILES) {
      const path = join(s.dir, name);
      if (update) writeFileSync(path, files[name] ?? '');
      expect(existsSync(path), `${path} is missing; run with UPDATE_GOLDEN=1`).toBe(true);
      expect(files[name], name).toBe(readFileSync(path, 'utf8'));
    }
  });

  it('gives byte-identical output when compiled twice', async () => {
    const a = await compileScenario(s);
    const b = await compileScenario(s);
    expect(JSON.stringify(a.files)).toBe(JSON.stringify(b.files));
  });
});
