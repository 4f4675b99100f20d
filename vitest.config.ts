import { defineConfig } from 'vitest/config';
import LongFirstSequencer from './test/long-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Lab tests build network namespaces; keep parallelism modest on a 2-core box.
    maxWorkers: 2,
    // The long files first, also on a clean clone (test/long-first-sequencer.ts).
    sequence: { sequencer: LongFirstSequencer },
    // In CI also write a JSON report, from which .ci/run prints a plain closing line.
    reporters: process.env['CI'] ? ['default', 'json'] : ['default'],
    ...(process.env['CI'] ? { outputFile: { json: 'test-report.json' } } : {}),
  },
});
