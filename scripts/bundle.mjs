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

// The code cache of compile.cjs (bin/cached-require.js): made in a process of its own after a
// sample compile, so it holds the functions a compile runs, not only the bundle's top level.
await codeCacheAfterSample(join(out, 'compile.cjs'));

/** A small Shorewall directory of the usual shapes, compiled once by a fresh Node that then writes the cache. */
async function codeCacheAfterSample(bundle) {
  const { mkdtemp, writeFile, copyFile, access } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { spawnSync } = await import('node:child_process');
  const scratch = await mkdtemp(join(tmpdir(), 'gh-code-cache-'));
  try {
    const dir = join(scratch, 'shorewall');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    const zones = ['loc', 'net', 'dmz'];
    await writeFile(join(dir, 'zones'), 'fw\tfirewall\n' + zones.map((z) => `${z}\tipv4`).join('\n') + '\n');
    await writeFile(join(dir, 'interfaces'), '?FORMAT 2\n' + zones.map((z, i) => `${z}\teth${i}\tnosmurfs,routeback${z === 'net' ? ',dhcp' : ''}`).join('\n') + '\n');
    await writeFile(join(dir, 'policy'), 'loc\tnet\tACCEPT\n$FW\tall\tACCEPT\nnet\tall\tDROP\tinfo\nall\tall\tREJECT\tinfo\n');
    await writeFile(join(dir, 'snat'), 'MASQUERADE\t10.0.0.0/8\teth1\n');
    await writeFile(join(dir, 'stoppedrules'), 'ACCEPT\t-\t$FW\ttcp\t22\n');
    const stock = '/usr/share/shorewall/configfiles/shorewall.conf';
    if (await access(stock).then(() => true, () => false)) await copyFile(stock, join(dir, 'shorewall.conf'));
    else await writeFile(join(dir, 'shorewall.conf'), 'IP_FORWARDING=On\n');
    const lines = ['?SECTION NEW', '?COMMENT RULE#1 sample'];
    for (let i = 0; i < 300; i++) {
      const [s, d] = [zones[i % 3], zones[(i + 1) % 3]];
      const verdict = ['ACCEPT', 'DROP', 'REJECT'][i % 3];
      lines.push(`${verdict}\t${i % 2 ? `${s}:10.${i % 3}.${i >> 8}.${i & 255}` : s}\t${d}:10.9.${i >> 8}.${i & 255}\t${i % 2 ? 'tcp' : 'udp'}\t${1000 + i}${i % 3 ? `,${2000 + i}` : ''}`);
    }
    lines.push('SSH(ACCEPT)\tloc\t$FW', 'Ping(ACCEPT)\tloc\tall', 'ACCEPT\tloc:10.0.0.1,10.0.0.2\tnet\ttcp\t80,443');
    for (let i = 0; i < 30; i++) lines.push(`DNAT\tnet\tloc:10.0.1.${i}:${100 + i}\ttcp\t${8000 + i}\t-\t&eth1`);
    await writeFile(join(dir, 'rules'), lines.join('\n') + '\n');
    const addresses = join(scratch, 'addresses.json');
    await writeFile(addresses, JSON.stringify([{ ifname: 'eth1', addr_info: [{ family: 'inet', local: '203.0.113.2', prefixlen: 24 }] }]));
    const argv = ['compile', '--root', scratch, '--dir', dir, '--out', join(scratch, 'plan'), '--addresses', addresses];
    const script = `require(${JSON.stringify(join(project, 'bin/cached-require.js'))}).writeCodeCache(${JSON.stringify(bundle)}, async (m) => { if ((await m.mainCompile(${JSON.stringify(argv)})) !== 0) process.exit(1); })`;
    const r = spawnSync(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`the sample compile for ${bundle}'s code cache failed`);
  } finally {
    const { rm } = await import('node:fs/promises');
    await rm(scratch, { recursive: true, force: true });
  }
}
