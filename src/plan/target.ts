/**
 * What a part sees of the kernel it is applied to: a runner of commands. The apply layer
 * (src/apply/runner.ts) implements it with execa; parts never start processes themselves,
 * so dry-run, netns and host modes work for every part alike.
 */

/** `dry-run` touches nothing, `netns:<name>` runs every command in that namespace, `host` changes this machine. */
export type ApplyMode = { kind: 'dry-run' } | { kind: 'netns'; name: string } | { kind: 'host' };

export function formatApplyMode(mode: ApplyMode): string {
  return mode.kind === 'netns' ? `netns:${mode.name}` : mode.kind;
}

export interface KernelCommand {
  /** What the command is for, as named in errors: `iptables-restore (rules.v4)`. */
  step: string;
  command: string;
  args: string[];
  /** Text fed on stdin. */
  input?: string;
  /** How dry-run names the input, e.g. the plan file it came from. */
  inputName?: string;
  /** Ends the command early; it then fails as cancelled. */
  signal?: AbortSignal;
}

export interface KernelRunner {
  readonly mode: ApplyMode;
  /** Runs a command and returns its stdout; a failure is a GatehouseError naming the step. In dry-run it prints and returns ''. */
  run(command: KernelCommand): Promise<string>;
  /** Refuses early, before any change, when a command or the namespace is missing. */
  preflight(commands: readonly string[]): Promise<void>;
}
