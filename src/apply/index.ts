export { type ApplyMode, parseApplyMode, resolveApplyMode, formatApplyMode } from './mode.js';
export {
  type ApplyOptions,
  type ApplyOutcome,
  type FirewallStatus,
  type KernelOptions,
  type RollbackOutcome,
  applyPlan,
  describeApplyOutcome,
  firewallStatus,
  formatStatus,
  confirmApply,
  recoverPlanStore,
  rollBackUnconfirmed,
  rollbackPlan,
  settleConfirmation,
  stopFirewall,
  REJECTED_MARK,
} from './apply.js';
export { type ConfirmationOutcome, type PendingConfirmation, describePending, newConfirmationToken, pendingExpired, readOutcome, readPending } from './confirm.js';
export { type PartsOutcome, type RunPartsOptions, PartFailure, commandsForParts, runParts, stopParts } from './parts.js';
export { type KernelCommand, type KernelRunner, createKernelRunner } from './runner.js';
export { type Scratch, createScratch, scratchCreator, sweepStaleScratch } from './scratch.js';
export { describeRefusedLine, explainingRefusals } from './refusal.js';
