import { defineConfig } from 'vitest/config';
import LongFirstSequencer from './test/long-first-sequencer.js';

// Node reads the file NODE_EXTRA_CA_CERTS names at every start (the system bundle here: ~45 ms
// of CPU per process), and the suite starts a few thousand Node processes (the commands under
// test, lab agents, test workers), none of which opens a TLS connection to anything that bundle
// would vouch for. Run by name, the commands start without it anyway (bin/*.js's launcher line);
// test/cli/launcher.test.ts sets and checks the variable itself.
delete process.env['NODE_EXTRA_CA_CERTS'];

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
