/**
 * `npm run bench [NAME...]`: runs each benchmark script (dist/bench/<name>.js) in its own
 * process, so cold starts stay cold and one benchmark's heap never skews another.
 * Each script prints its own table of figures.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
const chosen = wanted.length > 0 ? all.filter((n) => wanted.includes(n)) : all;
let failed = 0;
for (const name of chosen) {
  process.stdout.write(`\n== ${name} ==\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, `${name}.js`)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
