/**
 * The part contract. A plan is a set of named parts; each part owns some files of the plan
 * directory and knows, for its own piece of the kernel, how to apply them, check them,
 * roll them back and stop them. The apply layer only orders parts and runs them: it never
 * knows what an ipset or a route is. See src/plan/index.ts for how to add one.
 */
import type { KernelRunner } from './target.js';

/** The texts of a part's files, by file name (only the part's own files). */
export type PartFiles = Readonly<Record<string, string>>;

/** Whether the firewall is running the plan or stopped on it (`gatehouse stop`). */
export type PlanState = 'running' | 'stopped';

export interface PartApplyContext<C> {
  /**
   * The same part of the plan in force, when there is one and the firewall is running it
   * (not stopped) in the same mode. Parts use it to skip work the kernel already has, and to
   * remove what the new plan no longer holds.
   */
  before?: C;
  /**
   * Whether the kernel runs `before` as it was applied (running, not stopped, same mode).
   * Only then may a part change the kernel from `before` instead of rebuilding its piece.
   */
  beforeInForce?: boolean;
  /** Whether `before`'s files are byte-identical to this part's (same digest). */
  sameAsBefore: boolean;
  /** What this part kept (see PartApplyResult.record) when `before` was applied; undefined if unknown. */
  beforeRecord?: string;
  /** What prepare() returned (undefined when the part has no prepare). */
  prepared: unknown;
  /** Aborted once every part has been applied: late read-backs should stop then. */
  settled: AbortSignal;
}

export interface PartApplyResult {
  /** True when the part found the kernel already holding it and changed nothing. */
  unchanged?: boolean;
  /**
   * A text kept beside the running plan (for example what the kernel shows for it), handed
   * back as beforeRecord to the next apply and as record to status. A promise is awaited
   * after every part was applied; if it resolves undefined, nothing is kept.
   */
  record?: string | Promise<string | undefined>;
}

export interface PartRollbackContext<C> {
  /** The content that failed or was applied and must be undone. */
  failed: C;
  /** The same part of the plan that was in force before; undefined when there was none. */
  before?: C;
  /** Whether the part's apply() completed (false: it failed part way). */
  completed: boolean;
}

export interface PartStatusContext {
  state: PlanState;
  /** What the part kept when it was applied or last checked, if anything. */
  record?: string;
  /** Keeps a record for the next status or apply (for example a costly reference read). */
  keep(record: string): void;
  /**
   * Runs `work` against a scratch network namespace that is always removed afterwards
   * (also on Ctrl-C). For working out what the kernel should show for a plan.
   */
  scratch<T>(work: (target: KernelRunner) => Promise<T>): Promise<T>;
  /** Every part's content, by part name, for parts that need another's (rules need their sets). */
  contentOf(part: string): unknown;
}

export interface PlanPart<C = unknown> {
  /** Unique, stable name: `ipsets`, `filter.v4`, `routing`, `qos`. */
  readonly name: string;
  /** One line for people (`gatehouse compile --explain`, errors). */
  readonly describe: string;
  /** The files the part owns in a plan directory. File names are unique across parts. */
  readonly files: readonly string[];
  /** Parts applied before this one (and rolled back after it). Only parts the plan holds count. */
  readonly needs: readonly string[];
  /** A plan without this part is refused (the filter parts: no ruleset would mean open). */
  readonly required: boolean;
  /** Pure: validates the files and returns what the other methods work with. Errors name file and line. */
  parse(files: PartFiles, dir: string): C;
  /** Kernel commands the part runs for this content, checked (preflight) before anything changes. */
  commands(content: C): readonly string[];
  /** Optional read-only look at the kernel, started before any part is applied and run beside them. */
  prepare?(target: KernelRunner, content: C, context: Omit<PartApplyContext<C>, 'prepared' | 'settled'>): Promise<unknown>;
  /** Puts the content into the kernel. Must leave its piece of the kernel whole on failure, or say so via rollback. */
  apply(target: KernelRunner, content: C, context: PartApplyContext<C>): Promise<PartApplyResult>;
  /** Best-effort clean-up once every part was applied (for example destroying sets no rule uses any more). */
  settle?(target: KernelRunner, content: C, before: C | undefined): Promise<void>;
  /**
   * Undoes apply(): puts `before` back, or with no `before`, leaves the part's piece of the
   * kernel closed or empty (never open). Runs in reverse order of the parts, also for the
   * part whose apply failed (it may have changed something before failing).
   */
  rollback(target: KernelRunner, context: PartRollbackContext<C>): Promise<void>;
  /**
   * Puts the part's piece of the kernel in its stopped state (`gatehouse stop`), and removes
   * the part when a newly applied plan no longer holds it. Parts are stopped in reverse order.
   */
  stop(target: KernelRunner, content: C): Promise<void>;
  /** Differences between the kernel and the content in `state`, one line each (`- expected`, `+ kernel`); [] when it matches. */
  status(target: KernelRunner, content: C, context: PartStatusContext): Promise<string[]>;
}

/** Lets a list hold parts of different content types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlanPart = PlanPart<any>;

/** Declares a part with its content type checked (an identity function). */
export function definePart<C>(part: PlanPart<C>): PlanPart<C> {
  return part;
}
