/**
 * The packet filter of one family (`filter.v4`: rules.v4 and stopped.v4; `filter.v6` alike):
 * the running ruleset loaded as one iptables-restore transaction, and the stopped ruleset
 * that `gatehouse stop` loads and that a failed first apply falls back to (closed, never open).
 */
import { GatehouseError } from '../../errors/index.js';
import { describeDifferences, normaliseSave } from '../normalise.js';
import { definePart, type PlanPart } from '../part.js';
import type { KernelCommand, KernelRunner } from '../target.js';
import type { IpsetDefinition } from './ipsets.js';
import type { RuntimeIpsetDefinition } from './runtime-ipsets.js';
import { checkRestoreText, stoppedRestoreText } from './restore-text.js';

export type Family = 'v4' | 'v6';

export interface FilterContent {
  family: Family;
  rules: string;
  /** The stopped ruleset completed with empty nat, mangle and raw tables. */
  stopped: string;
}

function restoreCommand(family: Family): string {
  return family === 'v4' ? 'iptables-restore' : 'ip6tables-restore';
}

export function saveCommand(family: Family): KernelCommand {
  const command = family === 'v4' ? 'iptables-save' : 'ip6tables-save';
  return { step: command, command, args: [] };
}

function restore(target: KernelRunner, family: Family, text: string, file: string): Promise<string> {
  const command = restoreCommand(family);
  return target.run({ step: `${command} (${file})`, command, args: [], input: text, inputName: file });
}

/** The normalised save of `family` in the target; undefined when it cannot be read. */
export async function readKernel(target: KernelRunner, family: Family, signal?: AbortSignal): Promise<string | undefined> {
  if (target.mode.kind === 'dry-run') return undefined;
  return target.run({ ...saveCommand(family), ...(signal ? { signal } : {}) }).then(normaliseSave, () => undefined);
}

/**
 * What the kernel shows for `content` in `state`, found by loading it into an empty scratch
 * namespace (sets created empty first: rules name them, entries never show in a save).
 */
async function referenceSave(target: KernelRunner, content: FilterContent, state: 'running' | 'stopped', sets: string[]): Promise<string> {
  if (state === 'running' && sets.length > 0) {
    await target.run({ step: 'ipset restore -exist (reference sets)', command: 'ipset', args: ['restore', '-exist'], input: sets.join('\n') + '\n' });
  }
  const file = `${state === 'running' ? 'rules' : 'stopped'}.${content.family}`;
  await restore(target, content.family, state === 'running' ? content.rules : content.stopped, `${file}, reference`);
  return normaliseSave(await target.run(saveCommand(content.family)));
}

function filterPart(family: Family): PlanPart<FilterContent> {
  const rulesFile = `rules.${family}`;
  const stoppedFile = `stopped.${family}`;
  return definePart<FilterContent>({
    name: `filter.${family}`,
    describe: `IPv${family === 'v4' ? 4 : 6} rulesets (${rulesFile} running, ${stoppedFile} when stopped)`,
    files: [rulesFile, stoppedFile],
    needs: ['ipsets', 'runtime-ipsets'],
    required: true,
    parse(files, dir) {
      for (const name of [rulesFile, stoppedFile]) {
        if ((files[name] ?? '').trim() === '') {
          throw new GatehouseError('file is empty', { place: { file: `${dir}/${name}` }, hint: 'a plan never has an empty ruleset; recompile it' });
        }
      }
      const rules = files[rulesFile]!;
      checkRestoreText(rules, `${dir}/${rulesFile}`, false);
      const declared = checkRestoreText(files[stoppedFile]!, `${dir}/${stoppedFile}`, true);
      return { family, rules, stopped: stoppedRestoreText(files[stoppedFile]!, declared) };
    },
    commands: () => [restoreCommand(family), saveCommand(family).command],
    async prepare(target, _content, context) {
      // Only reads: whether the kernel still shows exactly what the same ruleset showed before.
      if (!context.sameAsBefore || context.beforeRecord === undefined) return undefined;
      const now = await readKernel(target, family);
      return now === context.beforeRecord ? now : undefined;
    },
    async apply(target, content, context) {
      if (typeof context.prepared === 'string') return { unchanged: true, record: context.prepared };
      await restore(target, family, content.rules, rulesFile);
      // Read back while the other parts still load; abandoned (not waited for) once all are done.
      return { record: readKernel(target, family, context.settled) };
    },
    async rollback(target, { before, failed }) {
      if (before) await restore(target, family, before.rules, `${rulesFile} of the previous plan`);
      else await restore(target, family, failed.stopped, stoppedFile);
    },
    async stop(target, content) {
      await restore(target, family, content.stopped, stoppedFile);
    },
    async status(target, content, context) {
      let expected = context.record;
      if (expected === undefined) {
        const sets = [
          ...((context.contentOf('ipsets') as IpsetDefinition[] | undefined) ?? []),
          ...((context.contentOf('runtime-ipsets') as RuntimeIpsetDefinition[] | undefined) ?? []),
        ].map((s) => `create ${s.name} ${s.spec}`);
        expected = await context.scratch((scratch) => referenceSave(scratch, content, context.state, sets));
        context.keep(expected);
      }
      const actual = normaliseSave(await target.run(saveCommand(family)));
      return describeDifferences(expected, actual);
    },
  });
}

export const filterV4Part = filterPart('v4');
export const filterV6Part = filterPart('v6');
