/**
 * Built-in actions: TypeScript functions an event names in an action file. Each is loaded
 * only when an event runs it, so `signal-event wan-uplink-update` never pays for the
 * template engine. Later stages add theirs with one line in BUILTIN_ACTIONS (e.g.
 * `compile`, `apply`).
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

type Loader = () => Promise<BuiltinAction>;

/** Action name -> lazy loader. Add one line per action. */
const BUILTIN_ACTIONS: Record<string, Loader> = {
  'expand-templates': async () => (await import('./expand-templates.js')).expandTemplates,
  'fire-firewall-event': async () => (await import('./fire-firewall-event.js')).fireFirewallEvent,
  'initialize-default-databases': async () => (await import('./initialize-default-databases.js')).initializeDefaultDatabases,
  'check-wan-uplink-args': async () => (await import('./check-wan-uplink-args.js')).checkWanUplinkArgs,
  compile: async () => (await import('./compile.js')).compileAction,
  apply: async () => (await import('./apply.js')).applyAction,
  'nethserver-event-note': async () => (await import('./nethserver-event-note.js')).nethserverEventNote,
  'wan-uplink-update': async () => (await import('./wan-uplink-update.js')).wanUplinkUpdateAction,
};

/** For tests and embedders: add (or replace) a built-in action at run time. */
export function registerBuiltinAction(name: string, action: BuiltinAction): void {
  BUILTIN_ACTIONS[name] = async () => action;
}

export function isBuiltinAction(name: string): boolean {
  return Object.hasOwn(BUILTIN_ACTIONS, name);
}

export function builtinActionNames(): string[] {
  return Object.keys(BUILTIN_ACTIONS).sort();
}

export async function loadBuiltinAction(name: string): Promise<BuiltinAction> {
  const loader = BUILTIN_ACTIONS[name];
  if (!loader) throw new Error(`no built-in action '${name}'`);
  return loader();
}
