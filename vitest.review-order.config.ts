/**
 * Review proof: three files of the 'shared' project run one after another in one worker
 * (isolate: false, as vitest.config.ts runs them), in a fixed order.
 */
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const ORDER = (process.env['REVIEW_ORDER'] ?? 'test/templates/fragment-store.test.ts,test/templates/fragments.test.ts,test/templates/render.test.ts').split(',');
const rel = (f: TestSpecification): string => relative(f.project.config.root, f.moduleId).split('\\').join('/');

class Ordered extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => ORDER.indexOf(rel(a)) - ORDER.indexOf(rel(b)));
  }
}

export default defineConfig({
  test: { include: ORDER, pool: 'forks', isolate: false, maxWorkers: 1, fileParallelism: false, sequence: { sequencer: Ordered } },
});
