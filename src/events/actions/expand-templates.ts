/**
 * `expand-templates`: expand the event's templates2expand targets. A target with no
 * fragments anywhere is skipped with a note (its fragments may simply not be installed);
 * any fragment error fails the action and writes nothing.
 */
import { underRoot } from '../../layout/index.js';
import { formatWarning } from '../../model/index.js';
import { buildTemplateContext, expandTargets, hasFragments, readTargetMetadata, takeFragmentStoreNotices, useCompiledFragmentStore } from '../../templates/index.js';
import type { ActionContext } from './index.js';

/** Compiled fragments kept between events: compiling them is most of a fresh process's render time. */
export const COMPILED_FRAGMENTS_DIR = '/var/cache/gatehouse/fragments';

export async function expandTemplates(context: ActionContext): Promise<void> {
  const dirs = context.templateDirs;
  const targets: string[] = [];
  const skipped: string[] = [];
  for (const target of context.templates) {
    if (hasFragments(target, dirs) || readTargetMetadata(target, dirs).delete) targets.push(target);
    else skipped.push(target);
  }
  if (skipped.length > 0) context.log(`skipped, no fragments installed: ${skipped.join(' ')}`);
  if (targets.length === 0) return;
  const templateContext = { ...(await buildTemplateContext(context.root)), event: context.event };
  // Records the model skipped or cannot act on yet: never dropped silently.
  for (const w of templateContext.warnings) context.warn(formatWarning(w));
  for (const w of templateContext.qos.warnings) context.warn(w);
  let result;
  // The store is this event's (its root's): named for the expansion only, so nothing else
  // this process renders later (another root's event, a test file sharing the worker) writes to it.
  useCompiledFragmentStore(underRoot(context.root, COMPILED_FRAGMENTS_DIR));
  try {
    result = await expandTargets(context.root, targets, templateContext, { dirs });
  } finally {
    for (const notice of takeFragmentStoreNotices()) context.log(`warning: ${notice}`);
    useCompiledFragmentStore(undefined);
  }
  context.log(`expanded ${targets.length}: changed ${result.changed.join(' ') || '(none)'}`);
}
