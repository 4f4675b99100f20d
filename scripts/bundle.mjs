/**
 * Bundles the command-line entry points (dist/src/cli/*.js, built by tsc) with their
 * dependencies into dist/bin/, which the files in bin/ load.
 *
 * Why: every command is a fresh process, and Node's ESM loader costs about a millisecond
 * per module file. execa alone is over a hundred files, and a whole `signal-event
 * firewall-adjust` loaded some 300. Bundled, an event starts ~100 ms sooner (see
 * `npm run bench e2e`). Code splitting keeps lazy imports lazy: `db getprop` still
 * never loads the template engine or execa.
 *
 * Tests import src/ directly; the tests that run bin/ exercise this bundle.
 */
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(project, 'dist/bin');
const entries = ['db', 'signal-event', 'expand-template', 'gatehouse'];

await rm(out, { recursive: true, force: true });
await build({
  entryPoints: entries.map((name) => join(project, 'dist/src/cli', `${name}.js`)),
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  // CommonJS dependencies (handlebars) call require(); ESM output has none unless given one.
  banner: { js: "import { createRequire as __ghCreateRequire } from 'node:module'; const require = __ghCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
