/**
 * Running an event: take the root's event lock, run the actions in name order, log each
 * with its duration, and stop at the first failure (so a failed compile is never followed
 * by an apply).
 */
import { performance } from 'node:perf_hooks';
import { type ApplyMode, formatApplyMode, resolveApplyMode } from '../apply/index.js';
import { GatehouseError, describeError } from '../errors/index.js';
import { runtimePaths, shippedPaths } from '../layout/index.js';
import { type TemplateDirs, defaultTemplateDirs } from '../templates/index.js';
import { type ActionContext, type BuiltinActions, loadBuiltinAction } from './actions/index.js';
import { type EventAction, type EventDefinition, type EventDirs, loadEvent } from './definition.js';
import { LOCK_HOLDER_ENV, acquireEventLock } from './lock.js';
import { type EventLog, formatSeconds, openEventLog } from './log.js';

export interface SignalEventOptions {
  root: string;
  event: string;
  args?: string[];
  /** Default: resolveApplyMode(root) (GATEHOUSE_APPLY, else the safe default). */
  applyMode?: ApplyMode;
  /** Where each log line also goes (the CLI passes stderr with --verbose). */
  echo?: (line: string) => void;
  /** Told when another event holds the lock and we wait. */
  onWait?: (holder: string) => void;
  /** Told each warning as it is raised (signal-event prints them on stderr). */
  onWarning?: (line: string) => void;
  eventDirs?: EventDirs;
  templateDirs?: TemplateDirs;
  /**
   * Built-in actions added to, or replacing, the shipped ones for this run and its nested
   * events only (tests and embedders); the next run has the shipped ones again.
   */
  builtinActions?: BuiltinActions;
  /** The apply actions of this run (nested events included) apply only onto this running plan (ApplyOptions.onto). */
  applyOnto?: string;
}

export interface ActionReport {
  event: string;
  action: string;
  ms: number;
}

export interface EventReport {
  event: string;
  actions: ActionReport[];
  ms: number;
  /** Records skipped or without effect, each naming its record. */
  warnings: string[];
}

const MAX_NESTING = 8;

export function defaultEventDirs(root: string): EventDirs {
  return { shipped: shippedPaths().events, custom: runtimePaths(root).eventsCustom, root };
}

interface RunState {
  root: string;
  applyMode: ApplyMode;
  log: EventLog;
  eventDirs: EventDirs;
  templateDirs: TemplateDirs;
  reports: ActionReport[];
  warnings: string[];
  onWarning: ((line: string) => void) | undefined;
  builtinActions: BuiltinActions | undefined;
  applyOnto: string | undefined;
}

async function runProgram(action: EventAction, context: ActionContext, state: RunState): Promise<void> {
  const { execa } = await import('execa');
  const result = await execa(action.file, [context.event, ...context.args], {
    env: {
      GATEHOUSE_ROOT: state.root,
      GATEHOUSE_EVENT: context.event,
      GATEHOUSE_APPLY: formatApplyMode(state.applyMode),
      [LOCK_HOLDER_ENV]: String(process.pid),
    },
    cwd: state.root,
    stdin: 'ignore',
    all: true,
    reject: false,
    stripFinalNewline: true,
  });
  const lines = typeof result.all === 'string' && result.all !== '' ? result.all.split('\n') : [];
  for (const line of lines) state.log.write(`Output: ${context.event} ${action.name} | ${line}`);
  if (!result.failed) return;
  const last = lines.filter((l) => l.trim() !== '').at(-1);
  const why =
    result.exitCode !== undefined
      ? `exited with code ${result.exitCode}`
      : result.signal !== undefined
        ? `was killed by ${result.signal}`
        : `could not be started (${result.shortMessage ?? result.message})`;
  throw new GatehouseError(`custom action ${why}${last !== undefined ? `; last output: ${last}` : ''}`, {
    place: { file: action.file },
    hint: 'see the event log for its full output',
  });
}

async function runEvent(requested: string, args: string[], state: RunState, depth: number): Promise<void> {
  if (depth > MAX_NESTING) {
    throw new GatehouseError(`events nest more than ${MAX_NESTING} deep at '${requested}'`, {
      hint: 'an event probably fires itself, directly or through firewall-adjust',
    });
  }
  const definition: EventDefinition = loadEvent(requested, state.eventDirs, state.builtinActions);
  const event = definition.name;
  const alias = event === requested ? '' : ` (alias ${requested})`;
  state.log.write(`Event: ${event}${alias} ${JSON.stringify(args)} apply=${formatApplyMode(state.applyMode)}`);
  const started = performance.now();
  for (const action of definition.actions) {
    const context: ActionContext = {
      root: state.root,
      event,
      args,
      applyMode: state.applyMode,
      ...(state.applyOnto !== undefined ? { applyOnto: state.applyOnto } : {}),
      log: (line) => state.log.write(`  ${event} ${action.name}: ${line}`),
      warn: (line) => {
        state.warnings.push(line);
        state.log.write(`  ${event} ${action.name}: warning: ${line}`);
        state.onWarning?.(line);
      },
      warnings: state.warnings,
      templates: definition.templates,
      templateDirs: state.templateDirs,
      signal: (nested, nestedArgs) => runEvent(nested, nestedArgs, state, depth + 1),
    };
    const t0 = performance.now();
    try {
      if (action.run.kind === 'builtin') await (await loadBuiltinAction(action.run.builtin, state.builtinActions))(context);
      else await runProgram(action, context, state);
    } catch (e) {
      const ms = performance.now() - t0;
      state.log.write(`Action: ${event} ${action.name} FAILED [${formatSeconds(ms)}]: ${describeError(e)}`);
      state.log.write(`Event: ${event} FAILED [${formatSeconds(performance.now() - started)}]`);
      const what = action.run.kind === 'builtin' ? `built-in ${action.run.builtin}` : 'custom';
      throw new GatehouseError(`event '${event}' failed at action ${action.name} (${what}): ${describeError(e)}`, {
        cause: e,
      });
    }
    const ms = performance.now() - t0;
    state.reports.push({ event, action: action.name, ms });
    state.log.write(`Action: ${event} ${action.name} SUCCESS [${formatSeconds(ms)}]`);
  }
  state.log.write(`Event: ${event} SUCCESS [${formatSeconds(performance.now() - started)}]`);
}

/** Run an event under the root's event lock; throws GatehouseError naming the failed action. */
export async function signalEvent(options: SignalEventOptions): Promise<EventReport> {
  const root = options.root;
  const args = options.args ?? [];
  const eventDirs = options.eventDirs ?? defaultEventDirs(root);
  // Refuse an unknown or malformed event before waiting for anyone's lock.
  loadEvent(options.event, eventDirs, options.builtinActions);
  const lock = await acquireEventLock(root, { event: options.event, ...(options.onWait ? { onWait: options.onWait } : {}) });
  const state: RunState = {
    root,
    applyMode: options.applyMode ?? resolveApplyMode(root),
    log: openEventLog(root, options.echo ? { echo: options.echo } : {}),
    eventDirs,
    templateDirs: options.templateDirs ?? defaultTemplateDirs(root),
    reports: [],
    warnings: [],
    onWarning: options.onWarning,
    builtinActions: options.builtinActions,
    applyOnto: options.applyOnto,
  };
  const started = performance.now();
  try {
    await runEvent(options.event, args, state, 0);
  } finally {
    await lock.release();
  }
  return { event: options.event, actions: state.reports, ms: performance.now() - started, warnings: state.warnings };
}
