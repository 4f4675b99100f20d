/**
 * Golden scenarios: test/golden/templates/<scenario>/ holds the shipped and custom
 * fragments, the databases, the targets and the full expected files side by side.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../../src/db/index.js';
import { expandTargets } from '../../src/templates/index.js';
import { makeTree, removeTree } from './fixtures.js';

const goldenDir = join(import.meta.dirname, '../golden/templates');

function readDbs(dir: string): Record<string, Database> {
  const out: Record<string, Database> = {};
  for (const f of readdirSync(dir).sort()) out[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Database;
  return out;
}

describe.each(readdirSync(goldenDir).sort())('golden %s', (scenario) => {
  const dir = join(goldenDir, scenario);
  const about = readFileSync(join(dir, 'about.txt'), 'utf8').trim();
  it(about, async () => {
    const targets = readFileSync(join(dir, 'targets.txt'), 'utf8').split('\n').filter(Boolean);
    const modes = JSON.parse(readFileSync(join(dir, 'modes.json'), 'utf8')) as Record<string, string>;
    const root = makeTree({});
    try {
      const custom = join(root, 'etc/gatehouse/templates-custom');
      cpSync(join(dir, 'custom'), custom, { recursive: true });
      const result = await expandTargets(root, targets, { db: readDbs(join(dir, 'db')) }, { dirs: { shipped: join(dir, 'shipped'), custom } });
      expect(result.changed.sort()).toEqual([...targets].sort());
      for (const target of targets) {
        expect(readFileSync(join(root, target), 'utf8')).toBe(readFileSync(join(dir, 'expected', target), 'utf8'));
        const mode = modes[target];
        if (mode !== undefined) expect((statSync(join(root, target)).mode & 0o777).toString(8).padStart(4, '0')).toBe(mode);
      }
    } finally {
      removeTree(root);
    }
  });
});
