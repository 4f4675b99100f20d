/**
 * The first step of `npm test`: `npm run build` and `npm run typecheck` at once. They are
 * independent (the type-check emits nothing and reads only sources), each is one mostly
 * single-threaded tsc, and on a 2-core machine running them side by side saves ~10 s of
 * the suite. Fails when either fails; both always run to the end, so every error shows.
 */
import { spawn } from 'node:child_process';

// Under npm, npm_execpath is npm's own CLI script: run it with this Node, as npm would.
const npm = process.env['npm_execpath'] ? [process.execPath, process.env['npm_execpath']] : ['npm'];

const run = (script) =>
  new Promise((resolve) => {
    const child = spawn(npm[0], [...npm.slice(1), 'run', script], { stdio: 'inherit' });
    child.once('error', (e) => {
      console.error(`npm run ${script}: ${e.message}`);
      resolve(1);
    });
    child.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

const codes = await Promise.all(['build', 'typecheck'].map(run));
process.exitCode = codes.find((code) => code !== 0) ?? 0;
