/**
 * `expand-template --watch`: re-expand targets whenever one of their fragments (shipped or
 * custom), their metadata or a database file changes, debounced so that an editor's
 * save-and-rename burst causes one expansion.
 */
import { mkdirSync, existsSync } from 'node:fs';
import type { FSWatcher } from 'chokidar';
import { makePrivateDir, runtimePaths } from '../layout/index.js';
import { type TemplateDirs, normalizeTarget, targetFolder } from './fragments.js';
import { type ExpandResult, buildTemplateContext, defaultTemplateDirs, expandTargets } from './expand.js';

export type WatchReport = { ok: true; result: ExpandResult; trigger: string } | { ok: false; error: unknown; trigger: string };

export interface WatchOptions {
  dirs?: TemplateDirs;
  /** Quiet period after the last change before expanding (default 100 ms). */
  debounceMs?: number;
  /** Called after each expansion with what changed or the error. */
  onReport: (report: WatchReport) => void;
}

export interface TargetWatcher {
  /** Resolves once the watcher is listening. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** The folders a set of targets depends on; the custom ones and the db folder are created so they can be watched. */
export function watchedFolders(root: string, targets: string[], dirs: TemplateDirs): string[] {
  const folders = new Set<string>();
  for (const t of targets.map(normalizeTarget)) {
    const shipped = targetFolder(dirs.shipped, t);
    if (existsSync(shipped)) folders.add(shipped);
    const custom = targetFolder(dirs.custom, t);
    // Root loads what is in here: never writable by group or others, whatever the umask.
    mkdirSync(custom, { recursive: true, mode: 0o755 });
    folders.add(custom);
  }
  const dbDir = runtimePaths(root).dbDir;
  // Databases may hold secrets: the folder is owner-only whichever command creates it first.
  makePrivateDir(dbDir);
  folders.add(dbDir);
  return [...folders];
}

export function watchTargets(root: string, targets: string[], options: WatchOptions): TargetWatcher {
  const dirs = options.dirs ?? defaultTemplateDirs(root);
  const debounceMs = options.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let lastTrigger = '';
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const expandNow = async (trigger: string): Promise<void> => {
    try {
      const context = await buildTemplateContext(root);
      const result = await expandTargets(root, targets, context, { dirs });
      if (!closed) options.onReport({ ok: true, result, trigger });
    } catch (error) {
      if (!closed) options.onReport({ ok: false, error, trigger });
    }
  };

  const onChange = (path: string): void => {
    lastTrigger = path;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      // Serialize: a slow expansion is never overlapped by the next one.
      running = running.then(() => expandNow(lastTrigger));
    }, debounceMs);
  };

  const folders = watchedFolders(root, targets, dirs);
  // chokidar is loaded only by a watcher: signal-event and one-shot expansions never pay for it.
  const opened: Promise<FSWatcher> = import('chokidar').then(({ watch }) => {
    const watcher = watch(folders, {
      ignoreInitial: true,
      depth: 0,
      // Our own temp files and lock folders are noise.
      ignored: (path: string) => /\.gatehouse-\d+-|\.lock$/.test(path),
    });
    watcher.on('all', (_event, path) => onChange(path));
    return watcher;
  });
  const ready = opened.then(
    (watcher) =>
      new Promise<void>((resolve, reject) => {
        watcher.once('ready', () => resolve());
        watcher.once('error', reject);
      }),
  );

  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await (await opened).close();
      await running;
    },
  };
}
