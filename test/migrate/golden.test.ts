/**
 * A hand-written NethServer 7 box (its /var/lib/nethserver/db and /etc/e-smith/templates-custom)
 * migrated in one step: the full report and every generated Shorewall file are golden.
 * Regenerate with UPDATE_GOLDEN=1 after a deliberate change, and read the diff.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatMigrationReport, migrate } from '../../src/cli/gatehouse/migrate.js';
import { removeTree } from '../templates/fixtures.js';

const scenario = join(import.meta.dirname, '../golden/migrate/nethserver7-box');
const update = process.env['UPDATE_GOLDEN'] === '1';

let root: string | undefined;
afterEach(() => {
  if (root) removeTree(root);
  root = undefined;
});

function golden(rel: string, actual: string): void {
  const file = join(scenario, 'expected', rel);
  if (update) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual, rel).toBe(readFileSync(file, 'utf8'));
}

describe('gatehouse migrate: a NethServer 7 box in one step', () => {
  it('every record type and legacy form: the report, the databases and the generated files', async () => {
    root = mkdtempSync(join(tmpdir(), 'gatehouse-migrate-'));
    const input = join(scenario, 'input');
    const report = await migrate(join(input, 'db'), root, join(input, 'templates-custom'));
    const text = formatMigrationReport(report, root).split(root).join('$ROOT').split(input).join('$INPUT');
    golden('report.txt', text);
    for (const dir of ['etc/shorewall', 'etc/shorewall6', 'etc/firehol']) {
      const files = readdirSync(join(root, dir)).sort();
      if (update) golden(`${dir}.list`, files.join('\n') + '\n');
      expect(files.join('\n') + '\n').toBe(readFileSync(join(scenario, 'expected', `${dir}.list`), 'utf8'));
      for (const f of files) golden(`${dir}/${f}`, readFileSync(join(root, dir, f), 'utf8'));
    }
    // The spec's MAC rule came through the e-smith custom path into the rules file.
    expect(readFileSync(join(root, 'etc/shorewall/rules'), 'utf8')).toContain('DROP      loc:~00-11-22-33-44-66          net');
    expect(existsSync(join(root, 'etc/e-smith/templates-custom/etc/shorewall/rules/40nethvoice'))).toBe(false);
  }, 120_000);
});
