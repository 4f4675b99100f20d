import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listScenarios, loadScenario, renderAll, writeRendered } from './render.js';
import { shorewallCheck, shorewallCheckSkipReason } from './shorewall-check.js';

const update = process.env['UPDATE_GOLDEN'] === '1';
const why = shorewallCheckSkipReason();
if (why) console.warn('skipped shorewall check: ' + why);
const scratch = mkdtempSync(join(tmpdir(), 'gh-model-golden-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(listScenarios())('golden scenario %s', (name) => {
  const scenario = loadScenario(name);
  const files = renderAll(scenario.databases, scenario.options);

  it(`generates the expected files (${scenario.about})`, () => {
    if (update) writeRendered(join(scenario.dir, 'expected'), files);
    for (const [target, text] of Object.entries(files)) {
      expect(text, target).toBe(readFileSync(join(scenario.dir, 'expected', target), 'utf8'));
    }
  });

  it.skipIf(why)('passes real shorewall check and shorewall6 check', async () => {
    const out = join(scratch, name);
    writeRendered(out, files);
    const [v4, v6] = await shorewallCheck([
      { program: 'shorewall', dir: join(out, 'etc/shorewall') },
      { program: 'shorewall6', dir: join(out, 'etc/shorewall6') },
    ]);
    expect(v4?.ok, v4?.output).toBe(true);
    expect(v6?.ok, v6?.output).toBe(true);
  });
});
