/**
 * The plan contract and the plan store.
 *
 * A plan is a set of named PARTS (src/plan/part.ts). Each part owns files of the plan
 * directory and says, for its own piece of the kernel:
 *   - parse     pure: validate its files (errors name file:line) into a content value;
 *   - needs     which parts are applied before it (and rolled back after it);
 *   - commands  the kernel commands it runs (checked before anything changes);
 *   - prepare   (optional) a read-only look at the kernel, run beside the parts before it;
 *   - apply     put the content into the kernel (told the same part of the plan in force);
 *   - settle    (optional) best-effort clean-up once every part is in;
 *   - rollback  undo apply: put the previous plan's content back, or with none, close/empty;
 *   - stop      its stopped state (`gatehouse stop`), also used to remove a part a new plan no longer has;
 *   - status    differences between the kernel and the content (`gatehouse status`).
 * The apply layer (src/apply) runs parts in dependency order, independent ones side by side;
 * when one fails, the parts already applied and the failing one are rolled back in reverse
 * order, and if that fails too, every part is stopped: the firewall is closed, never open.
 *
 * Today's parts (src/plan/parts/): `ipsets`, `runtime-ipsets` (sets the REST API fills;
 * created when missing, never emptied), `filter.v4` and `filter.v6` (rules.vN, and stopped.vN
 * which is how that filter stops), `sysctls`.
 *
 * Adding a part, for example traffic shaping applied with FireQOS:
 *
 *     // src/qos/part.ts
 *     export const qosPart = definePart<{ conf: string }>({
 *       name: 'qos',
 *       describe: 'traffic shaping (fireqos.conf)',
 *       files: ['fireqos.conf'],
 *       needs: ['filter.v4'],                        // marks come from the mangle table
 *       required: false,
 *       parse: (files, dir) => ({ conf: checkFireqos(files['fireqos.conf']!, `${dir}/fireqos.conf`) }),
 *       commands: () => ['fireqos'],
 *       async apply(target, { conf }, { sameAsBefore }) {
 *         if (sameAsBefore) return { unchanged: true };
 *         await target.run({ step: 'fireqos start', command: 'fireqos', args: ['start', '-'], input: conf, inputName: 'fireqos.conf' });
 *         return {};
 *       },
 *       rollback: (target, { before }) => (before ? startFireqos(target, before.conf) : clearShaping(target)),
 *       stop: (target) => clearShaping(target),
 *       status: (target, { conf }) => compareQdiscs(target, conf),
 *     });
 *
 * then one line in PLAN_PARTS (src/plan/parts/index.ts), and the compiler puts the part's
 * files into the plan: `parts: { ..., qos: { 'fireqos.conf': text } }` (src/compile/index.ts,
 * or the compile entry src/plan/compile.ts for files read from disk). A plan directory
 * without the part simply does not hold it; one that names it in plan.json must have its files.
 * Parts never start processes themselves: everything goes through `target.run`, so dry-run,
 * `netns:<name>` and host modes work alike.
 *
 * The plan store (src/plan/store.ts) is the only writer of $ROOT/var/lib/gatehouse/plan
 * (`next`, `current`, `previous`, `rejected`); readPlan reads a directory as one snapshot.
 */
export type { Plan, PlanInputs, PlanManifest, InterfaceAddresses, RuntimeIpset, TimeWindowsRecord } from './types.js';
export {
  type RenewalDecision,
  type RunningPlan,
  RENEW_WITHIN_DAYS,
  describeTimeWindows,
  parseTimeWindowsRecord,
  readPlanTimeWindows,
  renewalDecision,
  runningPlanDir,
  runningPlanSlot,
  timeWindowsRecord,
} from './time-windows.js';
export { MANIFEST_FILE, SUMMARY_FILE } from './types.js';
export { type OriginLine, type PlanOrigins, ORIGINS_FILE, describeOrigin, findOrigins, findSetUsers, parseOrigins, serializeOrigins } from './origins.js';
export type {
  AnyPlanPart,
  PartApplyContext,
  PartApplyResult,
  PartFiles,
  PartRollbackContext,
  PartStatusContext,
  PlanPart,
  PlanState,
} from './part.js';
export { definePart } from './part.js';
export { type ApplyMode, type KernelCommand, type KernelRunner, formatApplyMode } from './target.js';
export { PLAN_PARTS, filterV4Part, filterV6Part, ipsetsPart, runtimeIpsetsPart, sysctlsPart } from './parts/index.js';
export { type IpsetDefinition, parseIpsets } from './parts/ipsets.js';
export type { RuntimeIpsetDefinition } from './parts/runtime-ipsets.js';
export { type Family, type FilterContent, saveCommand } from './parts/filter.js';
export { type Sysctl, parseSysctlConf } from './parts/sysctls.js';
export { checkRestoreText } from './parts/restore-text.js';
export { describeDifferences, normaliseSave } from './normalise.js';
export { type LoadedPart, type LoadedPlan, contentOf, orderParts, parsePlan, readPlan, sha256 } from './read.js';
export { planDirectoryFiles, stableJson } from './files.js';
export {
  type PlanSources,
  compilePlan,
  defaultPlanSources,
  describePlanSources,
  parseInterfaceAddresses,
  readInterfaceAddresses,
} from './compile.js';
export * from './store.js';
export { type HeldLock, type LockHolder, acquireLock, describeHolder, holderAlive, processStart, readHolder, tryLock } from './lock.js';
