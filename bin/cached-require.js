// Not a command: loads a CommonJS bundle of dist/bin with V8's code cache, made by the build
// (scripts/bundle.mjs) after a sample run, so a fresh process neither parses the bundle nor
// compiles the functions that sample ran: what `require` would do, less about 20 ms of a
// `gatehouse compile`. The cache is used only when it was made from these very bytes (its
// first line is their sha256) and V8 accepts it (same V8, same flags); otherwise the bundle
// is compiled as usual, so a stale or missing cache only costs the time it would have saved.
const { readFileSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');

const cacheFile = (file) => `${file}.cache`;

/** The bundle as a script of the same shape Node gives a CommonJS file, with the cache when it fits. */
function load(file, useCache) {
  const source = readFileSync(file, 'utf8');
  const digest = createHash('sha256').update(source).digest('hex');
  let cachedData;
  if (useCache) {
    try {
      const cache = readFileSync(cacheFile(file));
      if (cache.subarray(0, 65).toString('latin1') === `${digest}\n`) cachedData = cache.subarray(65);
    } catch {
      // No cache: compiled as usual.
    }
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  return { exports: module.exports, script, digest };
}

/** require(file), through the code cache when there is a fitting one. */
exports.requireCached = (file) => load(file, true).exports;

/** For the build: loads `file` fresh, runs `sample` on its exports, then writes the cache of what ran. */
exports.writeCodeCache = async (file, sample) => {
  const { exports: loaded, script, digest } = load(file, false);
  await sample(loaded);
  writeFileSync(cacheFile(file), Buffer.concat([Buffer.from(`${digest}\n`, 'latin1'), script.createCachedData()]));
};
