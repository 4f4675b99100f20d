/**
 * Built-in actions: TypeScript functions an event names in an action file. Each is loaded
 * only when an event runs it, so `signal-event wan-uplink-update` never pays for the
 * template engine. Later stages add theirs with one line in BUILTIN_ACTIONS (e.g.
 * `compile`, `apply`). The table is fixed: a test or an embedder that needs other actions
 * passes them to the one run that uses them (`SignalEventOptions.builtinActions`), so an
 * event run later in the same process (`gatehouse api` runs firewall-adjust again and
 * again) runs the shipped actions, as a fresh process would.
 */
import type { ApplyMode } from '../../apply/index.js';
import type { TemplateDirs } from '../../templates/index.js';

export interface ActionContext {
  root: string;
  /** The event being run (after alias resolution). */
  event: string;
  /** The event's arguments (without the event name). */
  args: string[];
  applyMode: ApplyMode;
  /** Apply only onto this running plan (SignalEventOptions.applyOnto). */
  applyOnto?: string;
  /** One line into the event log (and stderr with --verbose). */
  log: (line: string) => void;
  /**
   * A record skipped or without effect, named (`db/key/prop: why`): logged, printed by
   * signal-event whatever its verbosity, and kept in the plan summary by `compile`.
   */
  warn: (line: string) => void;
  /** The warnings of this run so far (nested events included), oldest first. */
  warnings: readonly string[];
  /** The event's templates2expand targets, e.g. ['/etc/shorewall/rules']. */
  templates: string[];
  templateDirs: TemplateDirs;
  /** Run another event now, inside the lock this event already holds. */
  signal: (event: string, args: string[]) => Promise<void>;
}

export type BuiltinAction = (context: ActionContext) => Promise<void>;

/** Built-in actions added to, or replacing, the shipped ones for one run only (tests and embedders). */
export type BuiltinActions = Readonly<Record<string, BuiltinAction>>;

const NONE: BuiltinActions = {};

type Loader = () => Promise<BuiltinAction>;

/** Action name -> lazy loader. Add one line per action. */
const BUILTIN_ACTIONS: Readonly<Record<string, Loader>> = Object.freeze({
  'expand-templates': async () => (await import('./expand-templates.js')).expandTemplates,
  'fire-firewall-event': async () => (await import('./fire-firewall-event.js')).fireFirewallEvent,
  'initialize-default-databases': async () => (await import('./initialize-default-databases.js')).initializeDefaultDatabases,
  'check-wan-uplink-args': async () => (await import('./check-wan-uplink-args.js')).checkWanUplinkArgs,
  compile: async () => (await import('./compile.js')).compileAction,
  apply: async () => (await import('./apply.js')).applyAction,
  'nethserver-event-note': async () => (await import('./nethserver-event-note.js')).nethserverEventNote,
  'wan-uplink-update': async () => (await import('./wan-uplink-update.js')).wanUplinkUpdateAction,
});

export function isBuiltinAction(name: string, extra: BuiltinActions = NONE): boolean {
  return Object.hasOwn(extra, name) || Object.hasOwn(BUILTIN_ACTIONS, name);
}

export function builtinActionNames(extra: BuiltinActions = NONE): string[] {
  return [...new Set([...Object.keys(BUILTIN_ACTIONS), ...Object.keys(extra)])].sort();
}

/** The action `name`: from `extra` (this run's own) if it has it, else the shipped one. */
export async function loadBuiltinAction(name: string, extra: BuiltinActions = NONE): Promise<BuiltinAction> {
  if (Object.hasOwn(extra, name)) return extra[name]!;
  const loader = BUILTIN_ACTIONS[name];
  if (!loader) throw new Error(`no built-in action '${name}'`);
  return loader();
}
