/**
 * Events: shipped `events/<name>/` merged with `$ROOT/etc/gatehouse/events/<name>/`, run in
 * order under one lock per root by `signalEvent`.
 */
// The event log, for a command that says why it runs an event (gatehouse renew-time-windows).
export { type EventLog, openEventLog } from './log.js';
export {
  type EventDirs,
  type EventAction,
  type EventDefinition,
  type ActionRun,
  EVENT_ALIASES,
  IMPLICIT_EXPAND_ACTION,
  TEMPLATES_LIST,
  loadEvent,
  listEventNames,
  resolveEventName,
} from './definition.js';
export { type SignalEventOptions, type EventReport, type ActionReport, signalEvent, defaultEventDirs } from './runner.js';
export { type ActionContext, type BuiltinAction, type BuiltinActions, builtinActionNames, isBuiltinAction } from './actions/index.js';
export { LOCK_HOLDER_ENV } from './lock.js';
