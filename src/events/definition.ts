/**
 * Event definitions: `events/<name>/` (shipped) merged with `$ROOT/etc/gatehouse/events/<name>/`
 * (custom). An action is a file sorted by name (`S10name`): either an executable (run with
 * the event name and arguments) or a text file whose one word names a built-in action.
 * `templates2expand` (a list file or a folder of empty marker files) names the targets.
 */
import { readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import { assertTrustedFile } from '../layout/index.js';
import { normalizeTarget } from '../templates/index.js';
import { type BuiltinActions, builtinActionNames, isBuiltinAction } from './actions/index.js';

export interface EventDirs {
  shipped: string;
  custom: string;
  /** The runtime root: symlinks among custom actions may not lead out of it (default: the custom folder). */
  root?: string;
}

export type ActionRun = { kind: 'builtin'; builtin: string } | { kind: 'program' };

export interface EventAction {
  /** File name, which is also the sort key, e.g. `S10expand-templates`. */
  name: string;
  file: string;
  origin: 'shipped' | 'custom' | 'implicit';
  run: ActionRun;
}

export interface EventDefinition {
  name: string;
  /** The event folders that exist, shipped first. */
  folders: string[];
  actions: EventAction[];
  templates: string[];
}

export const TEMPLATES_LIST = 'templates2expand';
/** Where expansion runs when an event lists targets but no action says where (as e-smith's S05). */
export const IMPLICIT_EXPAND_ACTION = 'S05expand-templates';

/** Old names kept working: NethServer's save event, and the pre-2015 server-mode event. */
export const EVENT_ALIASES: Readonly<Record<string, string>> = {
  'nethserver-firewall-base-save': 'firewall-gateway-save',
  'lokkit-save': 'firewall-server-save',
};

const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const BUILTIN_REFERENCE = /^[a-z0-9][a-z0-9-]*$/;
const SKIPPED_SUFFIXES = ['~', '.swp', '.swo', '.orig', '.rej', '.bak', '.rpmsave', '.rpmnew', '.rpmorig', '.dpkg-old', '.dpkg-new', '.dpkg-dist'];

function isSkipped(fileName: string): boolean {
  return fileName.startsWith('.') || fileName.startsWith('#') || SKIPPED_SUFFIXES.some((s) => fileName.endsWith(s));
}

function statOrUndefined(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}

function meaningfulLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function classifyAction(file: string, st: Stats, builtins: BuiltinActions | undefined): ActionRun {
  if ((st.mode & 0o111) !== 0) return { kind: 'program' };
  const text = readFileSync(file, 'utf8');
  if (text.startsWith('#!') || text.includes('\0')) {
    throw new GatehouseError('custom action is not executable', {
      place: { file },
      hint: `make it executable (chmod +x ${file}) or replace its content with the name of a built-in action`,
    });
  }
  const lines = meaningfulLines(text);
  const word = lines[0];
  if (lines.length !== 1 || word === undefined || !BUILTIN_REFERENCE.test(word)) {
    throw new GatehouseError('action file is neither executable nor the name of a built-in action', {
      place: { file },
      hint: `write one of ${builtinActionNames(builtins).join(', ')}, or make it an executable program`,
    });
  }
  if (!isBuiltinAction(word, builtins)) {
    throw new GatehouseError(`unknown built-in action '${word}'`, {
      place: { file },
      hint: `known built-in actions: ${builtinActionNames(builtins).join(', ')}`,
    });
  }
  return { kind: 'builtin', builtin: word };
}

function readTemplatesList(path: string, st: Stats): string[] {
  const place = (file: string, line?: number) => ({ file, ...(line !== undefined ? { line } : {}) });
  const parse = (target: string, file: string, line?: number): string => {
    try {
      return normalizeTarget(target);
    } catch (e) {
      throw new GatehouseError((e as GatehouseError).message, { place: place(file, line), hint: 'one absolute target path per line, e.g. /etc/shorewall/rules' });
    }
  };
  if (st.isFile()) {
    const out: string[] = [];
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((raw, i) => {
        const l = raw.trim();
        if (l !== '' && !l.startsWith('#')) out.push(parse(l, path, i + 1));
      });
    return out;
  }
  // e-smith layout: templates2expand/etc/shorewall/rules as an empty marker file.
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (isSkipped(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(parse('/' + relative(path, full), full));
    }
  };
  walk(path);
  return out;
}

/** Names of the events known under these folders (for "did you mean" hints). */
export function listEventNames(dirs: EventDirs): string[] {
  const names = new Set<string>(Object.keys(EVENT_ALIASES));
  for (const base of [dirs.shipped, dirs.custom]) {
    try {
      for (const e of readdirSync(base, { withFileTypes: true })) if (e.isDirectory() && !isSkipped(e.name)) names.add(e.name);
    } catch {
      // a missing folder simply has no events
    }
  }
  return [...names].sort();
}

/** The event's real name: itself if it has a folder, else what its alias points to. */
export function resolveEventName(name: string, dirs: EventDirs): string {
  const alias = EVENT_ALIASES[name];
  if (alias === undefined) return name;
  const own = [dirs.shipped, dirs.custom].some((b) => statOrUndefined(join(b, name))?.isDirectory());
  return own ? name : alias;
}

/** `builtinActions`: the run's own built-in actions beside the shipped ones (see SignalEventOptions). */
export function loadEvent(requested: string, dirs: EventDirs, builtinActions?: BuiltinActions): EventDefinition {
  if (!EVENT_NAME.test(requested) || requested.includes('..')) {
    throw new GatehouseError(`invalid event name '${requested}'`, { hint: 'letters, digits, dot, dash and underscore' });
  }
  const name = resolveEventName(requested, dirs);
  const sources = [
    { base: join(dirs.shipped, name), origin: 'shipped' as const },
    { base: join(dirs.custom, name), origin: 'custom' as const },
  ].filter((s) => statOrUndefined(s.base)?.isDirectory());
  if (sources.length === 0) {
    throw new GatehouseError(`unknown event '${requested}'`, {
      hint: `known events: ${listEventNames(dirs).join(', ') || '(none)'}; a custom event is a folder in ${dirs.custom}`,
    });
  }

  const byName = new Map<string, { file: string; st: Stats; origin: 'shipped' | 'custom' }>();
  const templates = new Set<string>();
  for (const { base, origin } of sources) {
    for (const fileName of readdirSync(base)) {
      if (isSkipped(fileName)) continue;
      const file = join(base, fileName);
      const st = statOrUndefined(file);
      if (!st) continue;
      // Root runs these: anyone else who can change one could run code as root.
      if (origin === 'custom') assertTrustedFile(file, dirs.custom, dirs.root ?? dirs.custom, fileName === TEMPLATES_LIST ? 'the custom templates list' : 'the custom action');
      if (fileName === TEMPLATES_LIST) {
        for (const t of readTemplatesList(file, st)) templates.add(t);
      } else if (st.isFile()) {
        byName.set(fileName, { file, st, origin }); // custom replaces shipped of the same name
      }
    }
  }

  const actions: EventAction[] = [];
  for (const [actionName, { file, st, origin }] of byName) {
    if (st.size === 0) continue; // an empty custom file disables the shipped action
    actions.push({ name: actionName, file, origin, run: classifyAction(file, st, builtinActions) });
  }
  const expandsSomewhere = actions.some((a) => a.run.kind === 'builtin' && a.run.builtin === 'expand-templates');
  if (templates.size > 0 && !expandsSomewhere) {
    actions.push({
      name: IMPLICIT_EXPAND_ACTION,
      file: join(sources[0]!.base, TEMPLATES_LIST),
      origin: 'implicit',
      run: { kind: 'builtin', builtin: 'expand-templates' },
    });
  }
  if (actions.length === 0) {
    throw new GatehouseError(`event '${name}' has nothing to run`, {
      place: { file: sources.map((s) => s.base).join(' + ') },
      hint: 'add an action file (S10name) or a templates2expand list to the event folder',
    });
  }
  actions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { name, folders: sources.map((s) => s.base), actions, templates: [...templates].sort() };
}
