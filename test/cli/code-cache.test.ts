/**
 * bin/cached-require.js: a bundle loaded through the build's code cache behaves as the
 * bundle's bytes say, whatever the cache holds (V8 itself checks only the length).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const { requireCached, writeCodeCache } = createRequire(import.meta.url)('../../bin/cached-require.js') as {
  requireCached: (file: string) => { value: () => number; file: string };
  writeCodeCache: (file: string, sample: (m: { value: () => number }) => Promise<void>) => Promise<void>;
};

const scratch = mkdtempSync(join(tmpdir(), 'gh-code-cache-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const bundle = (n: number) => `const { basename } = require('node:path');\nexports.value = () => ${n};\nexports.file = basename(__filename);\n`;

describe('requireCached', () => {
  it('loads a CommonJS file with its own require and __filename, with or without a cache', async () => {
    const file = join(scratch, 'a.cjs');
    writeFileSync(file, bundle(1));
    expect(requireCached(file)).toMatchObject({ file: 'a.cjs' });
    await writeCodeCache(file, async (m) => void m.value());
    expect(readFileSync(`${file}.cache`).subarray(0, 65).toString()).toMatch(/^[0-9a-f]{64}\n$/);
    expect(requireCached(file).value()).toBe(1);
  });

  it('never runs a cache made from other bytes of the same length', async () => {
    const file = join(scratch, 'b.cjs');
    writeFileSync(file, bundle(1));
    await writeCodeCache(file, async (m) => void m.value());
    writeFileSync(file, bundle(2));
    expect(bundle(2).length).toBe(bundle(1).length);
    expect(requireCached(file).value()).toBe(2);
  });

  it('a damaged cache is compiled around', async () => {
    const file = join(scratch, 'c.cjs');
    writeFileSync(file, bundle(3));
    await writeCodeCache(file, async (m) => void m.value());
    const cache = readFileSync(`${file}.cache`);
    writeFileSync(`${file}.cache`, Buffer.concat([cache.subarray(0, 65), Buffer.alloc(cache.length - 65, 7)]));
    expect(requireCached(file).value()).toBe(3);
  });
});
