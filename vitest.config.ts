import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import LongFirstSequencer from './test/long-first-sequencer.js';

// Node reads the file NODE_EXTRA_CA_CERTS names at every start (the system bundle here: ~45 ms
// of CPU per process), and the suite starts a few thousand Node processes (the commands under
// test, lab agents, test workers), none of which opens a TLS connection to anything that bundle
// would vouch for. Run by name, the commands start without it anyway (bin/*.js's launcher line);
// test/cli/launcher.test.ts sets and checks the variable itself.
delete process.env['NODE_EXTRA_CA_CERTS'];

/**
 * Files that touch the kernel: they make network namespaces (the lab, shorewall check),
 * start daemons and agents in them, and install exit and signal handlers that remove them.
 * Each keeps a fresh worker process of its own. Every other file runs in a worker shared
 * with other such files (Vitest's isolate: false): a fresh process and a fresh import of
 * the code under test cost ~0.6 s of CPU per file, most of the time of the short files.
 * Told apart by what the file says, so a new lab test is isolated without being listed.
 */
const KERNEL = /labUnavailableReason|shorewallCheckSkipReason|netns|createLab|openLabRoot|process\.(once|on)\(/;
const root = fileURLToPath(new URL('.', import.meta.url));
const testFiles = readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join('test', f).split('\\').join('/'))
  .sort();
const kernelFiles = testFiles.filter((f) => KERNEL.test(readFileSync(join(root, f), 'utf8')));
const sharedFiles = testFiles.filter((f) => !kernelFiles.includes(f));

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Lab tests build network namespaces; keep parallelism modest on a 2-core box.
    maxWorkers: 2,
    // The long files first, also on a clean clone (test/long-first-sequencer.ts).
    sequence: { sequencer: LongFirstSequencer },
    projects: [
      { extends: true, test: { name: 'kernel', include: kernelFiles, isolate: true } },
      { extends: true, test: { name: 'shared', include: sharedFiles, isolate: false } },
    ],
    // In CI also write a JSON report, from which .ci/run prints a plain closing line.
    reporters: process.env['CI'] ? ['default', 'json'] : ['default'],
    ...(process.env['CI'] ? { outputFile: { json: 'test-report.json' } } : {}),
  },
});
