/**
 * Templates: target files built from Handlebars fragments (shipped `templates/<target>/`
 * merged with `$ROOT/etc/gatehouse/templates-custom/<target>/`), written atomically.
 */
export { type TemplateDirs, type Fragment, listFragments, hasFragments, normalizeTarget, sortName } from './fragments.js';
export { type TargetMetadata, METADATA_FILE, readTargetMetadata } from './metadata.js';
export { type TemplateContext, renderTarget, fragmentCacheStats, useCompiledFragmentStore, takeFragmentStoreNotices } from './render.js';
export { type ExpandResult, expandTargets, buildTemplateContext, defaultTemplateDirs } from './expand.js';
export { type WatchReport, type WatchOptions, type TargetWatcher, watchTargets } from './watch.js';
export { HELPER_NAMES } from './helpers.js';
