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
  rollbackPlan,
  stopFirewall,
} from './apply.js';
export { type PendingConfirmation, beginConfirmation, confirmApply, waitForConfirmation } from './confirm.js';
export { type Plan, type PlanFileName, PLAN_FILES, parsePlan, readPlan } from './plan.js';
export { type KernelCommand, type KernelRunner, createKernelRunner } from './runner.js';
export { normaliseSave, describeDifferences } from './normalise.js';
export { type AppliedRecord, type PlanPaths, planPaths } from './store.js';
