/**
 * Naming the origin of a line the kernel refuses. iptables-restore and ip6tables-restore say
 * `line N failed` (legacy) or `Error occurred at line: N` (nf_tables), ipset restore `Error in line N`; the line is taken from the text the
 * command was actually given (whatever the shape of the restore script around the rules)
 * and found in the plan's origins.json by its text: the Shorewall-style file and line, and
 * the database record, e.g. `/etc/shorewall/rules:42 (fwrules/17)`.
 */
import { GatehouseError } from '../errors/index.js';
import { type KernelCommand, type KernelRunner, type OriginLine, type PlanOrigins, describeOrigin, findOrigins, findSetUsers } from '../plan/index.js';

/** The message of an error, as people read it. */
function messageOf(e: unknown): string {
  return e instanceof GatehouseError ? e.message : e instanceof Error ? e.message : String(e);
}

function familyOf(command: string): 4 | 6 | undefined {
  if (command.startsWith('ip6tables')) return 6;
  if (command.startsWith('iptables')) return 4;
  return undefined;
}

function listOrigins(found: OriginLine[]): string {
  const shown = [...new Set(found.map(describeOrigin))];
  return shown.length <= 3 ? shown.join(', ') : `${shown.slice(0, 3).join(', ')} and ${shown.length - 3} more`;
}

/**
 * What a refused line was, for people: its text and where it came from. Undefined when the
 * error names no line of the input.
 */
export function describeRefusedLine(message: string, command: KernelCommand, origins: PlanOrigins | undefined): string | undefined {
  if (command.input === undefined) return undefined;
  const m = /\bline (\d+) failed\b/.exec(message) ?? /\bError occurred at line: (\d+)/.exec(message) ?? /\bError in line (\d+)\b/i.exec(message);
  if (!m) return undefined;
  const n = Number(m[1]);
  const lines = command.input.split('\n');
  const text = lines[n - 1]?.trim();
  if (text === undefined || text === '') return undefined;
  const where = `line ${n} of ${command.inputName ?? 'the input'}`;
  const family = familyOf(command.command);
  if (family !== undefined) {
    if (text === 'COMMIT') {
      const table = lines.slice(0, n - 1).reverse().find((l) => l.startsWith('*'))?.slice(1);
      return `${where} is the COMMIT of table ${table ?? '?'}: the kernel refused that table as a whole (a match or target it lacks, or a chain that does not exist)`;
    }
    const found = findOrigins(origins, family, text);
    return found.length > 0 ? `${where}, \`${text}\`, comes from ${listOrigins(found)}` : `${where} is \`${text}\` (made by the compiler itself, not from a line of the files)`;
  }
  if (command.command === 'ipset') {
    const set = /^(?:add|create|del|-A|-N)\s+(\S+)/.exec(text)?.[1];
    const users = set === undefined ? [] : findSetUsers(origins, set);
    return users.length > 0 ? `${where}, \`${text}\`, is of set ${set}, used by ${listOrigins(users)}` : `${where} is \`${text}\``;
  }
  return undefined;
}

/** A runner whose refusals name the origin of the refused line (same commands, same results otherwise). */
export function explainingRefusals(runner: KernelRunner, originsOf: PlanOrigins | undefined | (() => PlanOrigins | undefined)): KernelRunner {
  // Read only when a line is refused: origins.json is as large as the ruleset.
  const origins = (): PlanOrigins | undefined => (typeof originsOf === 'function' ? originsOf() : originsOf);
  return {
    mode: runner.mode,
    preflight: (commands) => runner.preflight(commands),
    async run(command) {
      try {
        return await runner.run(command);
      } catch (e) {
        const said = describeRefusedLine(messageOf(e), command, origins());
        if (said === undefined) throw e;
        const hint = e instanceof GatehouseError ? e.hint : undefined;
        throw new GatehouseError(`${messageOf(e)}; ${said}`, { ...(hint ? { hint } : { hint: 'fix that line (or the record it was written from) and run the event again' }), cause: e });
      }
    },
  };
}
