/**
 * Golden scenarios: test/golden/compile/<name>/ holds `input/` (IPv4 files), optionally
 * `input6/` (IPv6 files), `SCENARIO` (one line: what the case proves) and the expected
 * plan files side by side. `UPDATE_GOLDEN=1` rewrites the expected files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, planFiles, type CompiledPlan } from '../../src/compile/index.js';
import { parseShorewall, readShorewallDir } from '../../src/shorewall/index.js';

export const GOLDEN_DIR = join(import.meta.dirname, '../golden/compile');
export const EXPECTED_FILES = ['rules.v4', 'rules.v6', 'ipsets', 'stopped.v4', 'stopped.v6', 'sysctl.conf'];

export interface Scenario {
  name: string;
  dir: string;
  input: string;
  input6: string | undefined;
  purpose: string;
}

export function scenarios(): Scenario[] {
  return readdirSync(GOLDEN_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const dir = join(GOLDEN_DIR, name);
      const input6 = join(dir, 'input6');
      return {
        name,
        dir,
        input: join(dir, 'input'),
        input6: existsSync(input6) ? input6 : undefined,
        purpose: readFileSync(join(dir, 'SCENARIO'), 'utf8').trim(),
      };
    });
}

export async function compileScenario(s: Scenario): Promise<{ plan: CompiledPlan; files: Record<string, string> }> {
  const v4 = parseShorewall(await readShorewallDir(s.input), { family: 4, dir: 'input' });
  const v6 = s.input6 === undefined ? undefined : parseShorewall(await readShorewallDir(s.input6), { family: 6, dir: 'input6' });
  const plan = compile(v4, v6);
  return { plan, files: planFiles(plan) };
}
