/**
 * The packet filter of one family (`filter.v4`: rules.v4 and stopped.v4; `filter.v6` alike):
 * the running ruleset, and the stopped ruleset that `gatehouse stop` loads and that a failed
 * first apply falls back to (closed, never open). Gatehouse owns chains, not tables
 * (./owned.ts): each load is one `iptables-restore --noflush` of the chains it owns, its hooks
 * and its policies, so other tools' chains and rules (Docker's) survive every apply, rollback
 * and stop. A change from the plan the kernel holds rewrites only the chains that changed.
 */
import { GatehouseError } from '../../errors/index.js';
import { describeDifferences } from '../normalise.js';
import { definePart, type PlanPart } from '../part.js';
import type { KernelCommand, KernelRunner } from '../target.js';
import type { IpsetDefinition } from './ipsets.js';
import type { RuntimeIpsetDefinition } from './runtime-ipsets.js';
import { type Layout, changeScript, fullScript, hookScript, ownedView, parseLayout, parseSave } from './owned.js';
import { checkRestoreText, stoppedRestoreText } from './restore-text.js';

export type Family = 'v4' | 'v6';

export interface FilterContent {
  family: Family;
  rules: string;
  /** The stopped ruleset completed with empty nat, mangle and raw tables. */
  stopped: string;
  /** What Gatehouse owns in the kernel for each. */
  layout: Layout;
  stoppedLayout: Layout;
}

/** Records of this part start so; older ones (whole saves) are not comparable and are worked out again. */
const RECORD_HEADER = '# gatehouse owned view 1\n';

function restoreCommand(family: Family): string {
  return family === 'v4' ? 'iptables-restore' : 'ip6tables-restore';
}

export function saveCommand(family: Family): KernelCommand {
  const command = family === 'v4' ? 'iptables-save' : 'ip6tables-save';
  return { step: command, command, args: [] };
}

function restore(target: KernelRunner, family: Family, text: string, file: string): Promise<string> {
  const command = restoreCommand(family);
  return target.run({ step: `${command} (${file})`, command, args: ['--noflush'], input: text, inputName: file });
}

/** Puts `layout` in the kernel from whatever Gatehouse held there: a save, then one restore of every chain it owns. */
async function loadWhole(target: KernelRunner, family: Family, layout: Layout, others: readonly (Layout | undefined)[], file: string): Promise<void> {
  // Dry-run reads no kernel: it prints the script for an empty one.
  const save = target.mode.kind === 'dry-run' ? '' : await target.run(saveCommand(family));
  const script = fullScript(layout, parseSave(save), others.filter((l): l is Layout => l !== undefined));
  await restore(target, family, script, file);
}

/** What the kernel holds of Gatehouse's for `layout`; undefined when it cannot be read. */
async function readView(target: KernelRunner, family: Family, layout: Layout, signal?: AbortSignal): Promise<string | undefined> {
  if (target.mode.kind === 'dry-run') return undefined;
  return target.run({ ...saveCommand(family), ...(signal ? { signal } : {}) }).then(
    (save) => RECORD_HEADER + ownedView(save, layout),
    () => undefined,
  );
}

/**
 * What the kernel shows for `layout`, found by loading it into an empty scratch namespace
 * (sets created empty first: rules name them, entries never show in a save).
 */
async function referenceView(target: KernelRunner, family: Family, layout: Layout, sets: string[]): Promise<string> {
  if (sets.length > 0) {
    await target.run({ step: 'ipset restore -exist (reference sets)', command: 'ipset', args: ['restore', '-exist'], input: sets.join('\n') + '\n' });
  }
  await restore(target, family, fullScript(layout, new Map()), 'reference');
  return RECORD_HEADER + ownedView(await target.run(saveCommand(family)), layout);
}

function filterPart(family: Family): PlanPart<FilterContent> {
  const rulesFile = `rules.${family}`;
  const stoppedFile = `stopped.${family}`;
  return definePart<FilterContent>({
    name: `filter.${family}`,
    describe: `IPv${family === 'v4' ? 4 : 6} rulesets (${rulesFile} running, ${stoppedFile} when stopped), in chains Gatehouse owns`,
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
      const stopped = stoppedRestoreText(files[stoppedFile]!, declared);
      return { family, rules, stopped, layout: parseLayout(rules, `${dir}/${rulesFile}`), stoppedLayout: parseLayout(stopped, `${dir}/${stoppedFile}`) };
    },
    commands: () => [restoreCommand(family), saveCommand(family).command],
    // The plan in force again, with a record to compare with: one look, started beside the
    // other parts, decides. The same view as the kernel was left in means nothing to load;
    // anything else (a hand edit, a jump no longer first) takes the paths below.
    prepare: (target, content, context) =>
      context.sameAsBefore && context.beforeInForce && context.beforeRecord?.startsWith(RECORD_HEADER) ? readView(target, family, content.layout) : Promise.resolve(undefined),
    async apply(target, content, context) {
      const before = context.before;
      if (context.prepared !== undefined && context.prepared === context.beforeRecord) return { unchanged: true, record: context.beforeRecord };
      if (before && context.beforeInForce && target.mode.kind !== 'dry-run') {
        const change = changeScript(before.layout, content.layout);
        if (change) {
          const hooks = hookScript(content.layout);
          const done = await restore(target, family, change.script, `${rulesFile}, ${change.changed} chains changed`)
            // Gatehouse's jumps first again (another tool may have inserted above them); a missing one fails.
            .then(() => (hooks === undefined ? undefined : restore(target, family, hooks, `${rulesFile}, Gatehouse's jumps first`)))
            .then(
              () => true,
              // The kernel does not hold the plan before as it left it: every chain is rewritten below.
              () => false,
            );
          if (done && change.changed === 0) {
            // Nothing to change, so the time is there to check what the state chain cannot see:
            // a rule added or removed by hand inside Gatehouse's chains. Applying the same plan
            // again must repair it (a hand-inserted ACCEPT would otherwise stay), so it is kept
            // as unchanged only when the kernel shows what was recorded. Without a record (the last
            // change was not read back) there is nothing to compare with: what it shows becomes the record.
            const view = await readView(target, family, content.layout);
            if (view !== undefined && (context.beforeRecord === undefined || view === context.beforeRecord)) return { unchanged: true, record: view };
          } else if (done) {
            // No read-back: a save costs more than the change; status works out what to expect when asked.
            return {};
          }
        }
      }
      await loadWhole(target, family, content.layout, [before?.layout, before?.stoppedLayout, content.stoppedLayout], rulesFile);
      // Read back while the other parts still load; abandoned (not waited for) once all are done.
      return { record: readView(target, family, content.layout, context.settled) };
    },
    async rollback(target, { before, failed }) {
      const others = [failed.layout, failed.stoppedLayout, before?.stoppedLayout];
      if (before) await loadWhole(target, family, before.layout, others, `${rulesFile} of the previous plan`);
      else await loadWhole(target, family, failed.stoppedLayout, others, stoppedFile);
    },
    async stop(target, content) {
      await loadWhole(target, family, content.stoppedLayout, [content.layout], stoppedFile);
    },
    async status(target, content, context) {
      const layout = context.state === 'running' ? content.layout : content.stoppedLayout;
      let expected = context.record?.startsWith(RECORD_HEADER) ? context.record : undefined;
      if (expected === undefined) {
        const sets =
          context.state === 'running'
            ? [
                ...((context.contentOf('ipsets') as IpsetDefinition[] | undefined) ?? []),
                ...((context.contentOf('runtime-ipsets') as RuntimeIpsetDefinition[] | undefined) ?? []),
              ].map((s) => `create ${s.name} ${s.spec}`)
            : [];
        expected = await context.scratch((scratch) => referenceView(scratch, family, layout, sets));
        context.keep(expected);
      }
      const actual = RECORD_HEADER + ownedView(await target.run(saveCommand(family)), layout);
      return describeDifferences(expected, actual);
    },
  });
}

export const filterV4Part = filterPart('v4');
export const filterV6Part = filterPart('v6');
