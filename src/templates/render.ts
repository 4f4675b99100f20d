/**
 * Rendering: each fragment is compiled once per process (recompiled only if its text
 * changes, which is what `expand-template --watch` needs) and the outputs concatenated.
 */
import { readFileSync } from 'node:fs';
import type { Database } from '../db/index.js';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import { type Fragment, type TemplateDirs, listFragments, normalizeTarget } from './fragments.js';
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
}

const handlebars = createHandlebars();
// Lets the compiler call our helpers directly instead of looking them up at each use.
const KNOWN_HELPERS = Object.fromEntries(HELPER_NAMES.map((n) => [n, true]));
const cache = new Map<string, CacheEntry>();
const stats = { compiled: 0, reused: 0 };

/** How often fragments were compiled and reused in this process (for tests and benchmarks). */
export function fragmentCacheStats(): { compiled: number; reused: number; cached: number } {
  return { ...stats, cached: cache.size };
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
    return cached.render;
  }
  let render: CompiledFragment;
  try {
    // parse() first so syntax errors surface now, with a line, not at first render.
    const ast = handlebars.parse(source);
    render = handlebars.compile(ast, { noEscape: true, knownHelpers: KNOWN_HELPERS }) as CompiledFragment;
  } catch (e) {
    throw parseErrorPlace(fragment.file, e as Error);
  }
  stats.compiled++;
  cache.set(fragment.file, { source, render });
  return render;
}

function renderFragment(fragment: Fragment, target: string, context: TemplateContext): string {
  if (fragment.empty) return '';
  const source = readFileSync(fragment.file, 'utf8');
  if (source === '') return '';
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
  let out = '';
  for (const fragment of fragments) out += renderFragment(fragment, normalized, context);
  return out;
}
