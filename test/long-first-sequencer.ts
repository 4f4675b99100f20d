/**
 * The order test files start in. With two workers the suite lasts about as long as its
 * busier worker, so the long files must start first and the short ones fill in behind
 * them. Vitest sorts by the durations it cached from the last run, but a clean clone (CI)
 * has no cache and falls back to file size (largest first: api/server.test.ts, 3 s, before
 * the differential, 2-3 min, behind seven others), and a run filtered by -t
 * caches a partial duration (the differential's became 35 s). So the files known to be
 * long start in the order of the durations below (seconds in the full run of 2 December
 * 00:17, 2-core machine, session 8; renew-time-windows from the run of 02:49, session 9);
 * every other file follows in Vitest's own order. Only
 * the order changes: every file still runs.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const EXPECTED_SECONDS: Record<string, number> = {
  'test/differential/differential.test.ts': 128,
  'test/e2e/shaping.test.ts': 92,
  'test/model/golden.test.ts': 86,
  'test/wan/multiwan-lab.test.ts': 80,
  'test/db/reliability.test.ts': 61,
  'test/apply/confirm-lab.test.ts': 49,
  'test/api/api-lab.test.ts': 47,
  'test/apply/incremental-lab.test.ts': 36,
  'test/db/output.test.ts': 31,
  'test/compile/kernel.test.ts': 23,
  'test/apply/kill-lab.test.ts': 21,
  'test/db/cli.test.ts': 18,
  'test/e2e/review.test.ts': 17,
  'test/cli/renew-time-windows.test.ts': 19,
  'test/api/units.test.ts': 17,
  'test/e2e/docker.test.ts': 16,
  'test/apply/cli-lab.test.ts': 16,
  'test/e2e/holes.test.ts': 15,
  'test/e2e/policy.test.ts': 14,
  'test/e2e/ipv6.test.ts': 13,
  'test/model/expand-cli.test.ts': 13,
  'test/e2e/safety.test.ts': 11,
  'test/e2e/hostile.test.ts': 11,
  'test/qos/fireqos.test.ts': 10,
  'test/apply/unchanged-lab.test.ts': 10,
};

export default class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    const expected = (file: TestSpecification): number => EXPECTED_SECONDS[relative(file.project.config.root, file.moduleId).split('\\').join('/')] ?? 0;
    // Array.prototype.sort is stable: the unlisted files (0) keep Vitest's order.
    return ordered.sort((a, b) => expected(b) - expected(a));
  }
}
