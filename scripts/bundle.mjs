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
 * bin/ is CommonJS (bin/package.json): db and config require dist/bin/db.cjs, the other
 * commands import() their ESM bundle.
 */
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(project, 'dist/bin');
const entries = ['signal-event', 'expand-template', 'gatehouse'];

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

// db (and config, which is db configuration) also as one CommonJS file, which bin/db.js
// and bin/config.js load with require(): an ESM entry costs Node its ESM loader, a
// resolve per chunk and a facade per builtin (node:fs's pulls in the streams), ~25 ms of
// a setprop whose whole budget over a bare Node start is ~100 ms. Lazy imports stay lazy
// (esbuild wraps each dynamically imported module; it runs when first imported).
const commonjs = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  // The code locates the project (and ipaddr.js) from its own file.
  define: { 'import.meta.url': '__ghImportMetaUrl' },
  banner: { js: "const __ghImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
};
await build({
  ...commonjs,
  entryPoints: [join(project, 'dist/src/cli/db.js')],
  outfile: join(out, 'db.cjs'),
  // yargs (with its helpers, 60% of the code) only prints help and usage errors: a file
  // of its own, so a well-formed command does not even compile it.
  // proper-lockfile is given Node's fs (store.ts, its `fs` option), so graceful-fs, its
  // default, is never used: not bundled either (loading it patched fs and pulled in Node's
  // streams, a tenth of a `db setprop`).
  plugins: [
    { name: 'yargs-apart', setup: (b) => b.onResolve({ filter: /^yargs$/ }, () => ({ path: './yargs.cjs', external: true })) },
    { name: 'no-graceful-fs', setup: (b) => b.onResolve({ filter: /^graceful-fs$/ }, () => ({ path: 'node:fs', external: true })) },
    // signal-exit (proper-lockfile's, to drop the lock on a signal) requires node:assert
    // for one assert.equal of its argument; loading node:assert creates process.stderr
    // to learn its colours, which loads Node's streams: a tenth of a `db setprop`. The
    // same check, loading node:assert only to throw its error.
    {
      name: 'assert-equal',
      setup: (b) => {
        b.onResolve({ filter: /^assert$/ }, () => ({ path: 'assert', namespace: 'assert-equal' }));
        b.onLoad({ filter: /.*/, namespace: 'assert-equal' }, () => ({
          contents:
            "module.exports = { equal(actual, expected, message) { if (actual != expected) { const { AssertionError } = require('node:assert'); throw new AssertionError({ actual, expected, message, operator: '==' }); } } };",
          loader: 'js',
        }));
      },
    },
  ],
});
// The read-only db (db-read.cjs): `db getprop` and the other verbs that only read load
// this bundle alone (bin/db-dispatch.js picks it by the verb), without the code of the writes,
// the schemas, the import and the lock, which made up most of db.cjs to compile.
await build({ ...commonjs, entryPoints: [join(project, 'dist/src/cli/db-read.js')], outfile: join(out, 'db-read.cjs') });
// `gatehouse compile` (compile.cjs): the plainly written command without yargs and without
// the ESM chunks of the other commands (bin/gatehouse.js picks it; see src/cli/gatehouse-compile.ts).
await build({ ...commonjs, entryPoints: [join(project, 'dist/src/cli/gatehouse-compile.js')], outfile: join(out, 'compile.cjs') });
await build({
  ...commonjs,
  sourcemap: false,
  // import() of a CommonJS file gives module.exports as the default export: the function.
  stdin: { contents: "module.exports = require('yargs').default;", resolveDir: project, loader: 'js' },
  outfile: join(out, 'yargs.cjs'),
});
