/** The deliberate differences from NethServer 7 are one list: the migration report prints it, the README shows it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIFFERENCES } from '../../src/cli/gatehouse/migrate.js';

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

describe('where Gatehouse differs from NethServer 7', () => {
  it.each(DIFFERENCES.map((d) => [d]))('the README lists: %s', (difference) => {
    expect(readme).toContain(`- ${difference}\n`);
  });
});
