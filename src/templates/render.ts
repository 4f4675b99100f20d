/**
 * Rendering: each fragment is compiled once per process (recompiled only if its text
 * changes, which is what `expand-template --watch` needs) and the outputs concatenated.
 * Compiling is the costly part of a fresh process (the Handlebars compiler runs cold), so
 * a caller may name a folder where compiled fragments are kept between processes, keyed
 * by their text; loading one is a plain JavaScript parse. A long-lived process (the API
 * runs events in-process) names the folder at each event, and each event checks it again,
 * as a fresh process would.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../db/index.js';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import { type Fragment, type TemplateDirs, listFragments, normalizeTarget } from './fragments.js';
import Handlebars from 'handlebars';
import { PERL_HINT, findPerl } from './perl.js';
import { FragmentLineError, HELPER_NAMES, createHandlebars } from './helpers.js';

/** What fragments see: the model's fields at the top level and every database as `db.<name>`. */
export interface TemplateContext {
  db: Record<string, Database>;
  [name: string]: unknown;
}

type CompiledFragment = (context: TemplateContext, options: { data: Record<string, unknown> }) => string;

interface CacheEntry {
  source: string;
  render: CompiledFragment;
  /** The compiled code as text (when the fragment was compiled or loaded for a store), to keep it in a store that lacks it. */
  spec?: string;
  /** The store use (useCompiledFragmentStore call) in which the entry was last known to be in the store folder. */
  storedIn?: number;
}

const handlebars = createHandlebars();
// Lets the compiler call our helpers directly instead of looking them up at each use.
const KNOWN_HELPERS = Object.fromEntries(HELPER_NAMES.map((n) => [n, true]));
const COMPILE_OPTIONS = { noEscape: true, knownHelpers: KNOWN_HELPERS };
const cache = new Map<string, CacheEntry>();
const stats = { compiled: 0, reused: 0, loaded: 0 };
let storeDir: string | undefined;
/** Counts the calls of useCompiledFragmentStore: what was checked belongs to one of them. */
let storeUse = 0;
/** Whether storeDir passed its check in this use (undefined: not checked yet). */
let storeTrusted: boolean | undefined;
const storeNotices: string[] = [];

/** How often fragments were compiled, reused in this process, and loaded from the store folder (for tests and benchmarks). */
export function fragmentCacheStats(): { compiled: number; reused: number; loaded: number; cached: number } {
  return { ...stats, cached: cache.size };
}

/**
 * Keep compiled fragments in `dir` between processes (undefined: in memory only). The
 * folder holds code that is run, so it must be writable by the owner only; it is created
 * with mode 0700. A missing, stale or damaged entry is simply compiled again. Called once
 * per event: the folder is checked again at each call (it may have been opened to others,
 * or removed to be made afresh, since the last event of this process), and the fragments
 * this process holds in memory are written to it if it lacks them.
 */
export function useCompiledFragmentStore(dir: string | undefined): void {
  storeDir = dir;
  storeTrusted = undefined;
  storeUse++;
}

/**
 * What the store refused since the last call: entries or a folder that someone else
 * could have written, which are never run (the fragment is compiled again instead).
 */
export function takeFragmentStoreNotices(): string[] {
  return storeNotices.splice(0);
}

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

/** Why a cache file or folder may not be trusted: not ours, writable by others, or a link. */
function storeProblem(path: string, kind: 'folder' | 'file'): string | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (st.isSymbolicLink()) return 'is a symlink';
  if (kind === 'folder' ? !st.isDirectory() : !st.isFile()) return `is not a ${kind}`;
  if (st.uid !== euid()) return `is owned by uid ${st.uid}, not by the user running Gatehouse (uid ${euid()})`;
  const mask = kind === 'folder' ? 0o077 : 0o022;
  if ((st.mode & mask) !== 0) return `has mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, open to others`;
  return undefined;
}

/** The store folder may be used: ours and owner-only. Checked once per use (each event). */
function storeUsable(): boolean {
  if (storeDir === undefined) return false;
  if (storeTrusted === undefined) {
    const problem = storeProblem(storeDir, 'folder');
    storeTrusted = problem === undefined;
    if (problem) storeNotices.push(`compiled-fragment cache ${storeDir} ${problem}: not used (fragments are compiled in memory); remove it to let Gatehouse recreate it`);
  }
  return storeTrusted;
}

function storeKey(source: string): string {
  // The helper set is part of the key: known helpers are compiled into direct calls.
  return createHash('sha256').update(`${Handlebars.VERSION}\0${HELPER_NAMES.join(',')}\0${source}`).digest('hex');
}

function fromSpec(spec: string): CompiledFragment {
  return handlebars.template(new Function(`return ${spec};`)() as Parameters<typeof handlebars.template>[0]) as unknown as CompiledFragment;
}

function loadStored(key: string): { render: CompiledFragment; spec: string } | undefined {
  if (storeDir === undefined || !storeUsable()) return undefined;
  const file = join(storeDir, `${key}.js`);
  // The entry is evaluated as code: only one that we wrote and nobody else can change.
  const problem = storeProblem(file, 'file');
  if (problem) {
    storeNotices.push(`compiled-fragment cache entry ${file} ${problem}: not run; compiled again`);
    return undefined;
  }
  try {
    const spec = readFileSync(file, 'utf8');
    return { render: fromSpec(spec), spec };
  } catch {
    return undefined;
  }
}

/** Writes an entry; true when it is in the folder afterwards. */
function store(key: string, spec: string): boolean {
  if (storeDir === undefined) return false;
  if (storeTrusted === false) return false;
  const file = join(storeDir, `${key}.js`);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(storeDir, { recursive: true, mode: 0o700 });
    if (!storeUsable()) return false;
    writeFileSync(temp, spec, { mode: 0o600, flag: 'wx' });
    renameSync(temp, file);
    return true;
  } catch {
    // Only a lost speed-up: the next process compiles again.
    rmSync(temp, { force: true });
    return false;
  }
}

/**
 * A fragment reused from memory in a new store use: the folder gets it if it lacks it (it
 * was removed, or is another folder), as after a fresh process of ours, so the next fresh
 * process loads it. One lstat per fragment and event.
 */
function keepInStore(entry: CacheEntry): void {
  // The folder is checked (and a refusal said) at each event, as a fresh process's first load does.
  if (storeDir === undefined || !storeUsable() || entry.storedIn === storeUse) return;
  const key = storeKey(entry.source);
  if (lstatSync(join(storeDir, `${key}.js`), { throwIfNoEntry: false }) !== undefined) {
    entry.storedIn = storeUse;
    return;
  }
  try {
    // Compiled while no store was named (in memory only): its text is made once, now that one wants it.
    entry.spec ??= handlebars.precompile(handlebars.parse(entry.source), COMPILE_OPTIONS) as unknown as string;
  } catch {
    return;
  }
  if (store(key, entry.spec)) entry.storedIn = storeUse;
}

function parseErrorPlace(file: string, e: Error): GatehouseError {
  // Handlebars: "Parse error on line 4:\n<excerpt>\n----^\nExpecting 'X', got 'EOF'"
  const lineMatch = /on line (\d+)/.exec(e.message);
  const lines = e.message.split('\n');
  const detail = lineMatch ? lines[lines.length - 1] : lines[0];
  const hb = e as Error & { lineNumber?: number };
  const line = lineMatch ? Number(lineMatch[1]) : hb.lineNumber;
  return new GatehouseError(`Handlebars syntax error: ${detail ?? e.message}`, {
    place: { file, ...(line !== undefined ? { line } : {}) },
    hint: 'check that every {{#block}} is closed by its {{/block}} and that braces are balanced',
  });
}

function compileFragment(fragment: Fragment, source: string): CompiledFragment {
  const cached = cache.get(fragment.file);
  if (cached && cached.source === source) {
    stats.reused++;
    keepInStore(cached);
    return cached.render;
  }
  const key = storeDir === undefined ? undefined : storeKey(source);
  const stored = key === undefined ? undefined : loadStored(key);
  if (stored) {
    stats.loaded++;
    cache.set(fragment.file, { source, render: stored.render, spec: stored.spec, storedIn: storeUse });
    return stored.render;
  }
  let ast: ReturnType<typeof handlebars.parse>;
  try {
    // parse() first so syntax errors surface now, with a line, not at first render.
    ast = handlebars.parse(source);
  } catch (e) {
    throw parseErrorPlace(fragment.file, e as Error);
  }
  let render: CompiledFragment | undefined;
  let spec: string | undefined;
  let storedIn: number | undefined;
  if (key !== undefined) {
    try {
      // The same code compile() builds, as text that can be kept.
      spec = handlebars.precompile(ast, COMPILE_OPTIONS) as unknown as string;
      render = fromSpec(spec);
      if (store(key, spec)) storedIn = storeUse;
    } catch {
      render = undefined; // compile() below reports it exactly as without a store
      spec = undefined;
    }
  }
  render ??= handlebars.compile(ast, COMPILE_OPTIONS) as CompiledFragment;
  stats.compiled++;
  cache.set(fragment.file, { source, render, ...(spec !== undefined ? { spec } : {}), ...(storedIn !== undefined ? { storedIn } : {}) });
  return render;
}

function renderFragment(fragment: Fragment, target: string, context: TemplateContext): string {
  if (fragment.empty) return '';
  const source = readFileSync(fragment.file, 'utf8');
  if (source === '') return '';
  const perl = fragment.origin === 'custom' ? findPerl(source) : undefined;
  if (perl) {
    throw new GatehouseError(`custom fragment is a NethServer Perl (Text::Template) fragment (${perl.what}); Gatehouse does not run Perl`, {
      place: { file: fragment.file, line: perl.line },
      hint: PERL_HINT,
    });
  }
  const render = compileFragment(fragment, source);
  try {
    return render(context, { data: { target, fragment: fragment.name } });
  } catch (e) {
    if (isGatehouseError(e)) throw e;
    const line = e instanceof FragmentLineError ? e.line : (e as { lineNumber?: number }).lineNumber;
    throw new GatehouseError(`fragment failed: ${(e as Error).message}`, {
      place: { file: fragment.file, ...(line !== undefined ? { line } : {}) },
      hint: 'fix the fragment; the previous file was left in place',
      cause: e,
    });
  }
}

/** Render one target (e.g. '/etc/shorewall/rules') from its fragments; throws GatehouseError naming fragment file:line. */
export function renderTarget(target: string, context: TemplateContext, dirs: TemplateDirs): string {
  const normalized = normalizeTarget(target);
  const fragments = listFragments(normalized, dirs);
  if (fragments.length === 0) {
    throw new GatehouseError(`no fragments for ${normalized}`, {
      place: { file: `${dirs.shipped}${normalized}/` },
      hint: `add fragments to that folder or to ${dirs.custom}${normalized}/`,
    });
  }
  const familyContext = forFamily(normalized, context);
  let out = '';
  for (const fragment of fragments) out += renderFragment(fragment, normalized, familyContext);
  return out;
}

/**
 * Shorewall's IPv4 and IPv6 files are made by the same fragments: they print `family.*`,
 * the model's files of the target's family (`v4` under etc/shorewall, `v6` under
 * etc/shorewall6), and `familyName` (`ipv4` or `ipv6`) picks per-family lists elsewhere.
 */
function forFamily(target: string, context: TemplateContext): TemplateContext {
  const family = target.startsWith('/etc/shorewall6/') ? 'ipv6' : target.startsWith('/etc/shorewall/') ? 'ipv4' : undefined;
  if (family === undefined) return context;
  return { ...context, family: context[family === 'ipv4' ? 'v4' : 'v6'], familyName: family };
}
