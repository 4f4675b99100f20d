/**
 * Fragment discovery: which files make up a target, in which order, after merging the
 * shipped folder with the administrator's templates-custom folder (e-smith rules).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import { assertTrustedFile } from '../layout/index.js';

/** Where fragments come from: shipped with Gatehouse, and the administrator's own. */
export interface TemplateDirs {
  shipped: string;
  custom: string;
  /**
   * NethServer's custom-fragment tree ($ROOT/etc/e-smith/templates-custom), honoured for
   * migrated boxes. It sits between the two: it replaces shipped fragments of the same
   * name, and `custom` (etc/gatehouse/templates-custom) replaces it.
   */
  esmithCustom?: string;
  /** The runtime root: symlinks among custom fragments may not lead out of it (default: the custom folder). */
  root?: string;
}

export interface Fragment {
  /** Sort name: the file name without a `.hbs` suffix. */
  name: string;
  /** Absolute path of the file that supplies it. */
  file: string;
  origin: 'shipped' | 'custom';
  /** For custom fragments: the custom tree it comes from. */
  tree?: string;
  /** Zero-length file: present only to disable a shipped fragment of the same name. */
  empty: boolean;
}

const FIRST = 'template-begin';
const LAST = 'template-end';
/** The name a flat custom template (a file at the target path) is listed under. */
const FLAT = '(whole file)';
// Editor and package-manager leftovers that must never become part of a file.
const SKIPPED_SUFFIXES = ['~', '.swp', '.swo', '.orig', '.rej', '.bak', '.rpmsave', '.rpmnew', '.rpmorig', '.dpkg-old', '.dpkg-new', '.dpkg-dist', '.tmp'];

/** `/etc/shorewall/rules` (leading slash optional); refuses empty and `..` segments. */
export function normalizeTarget(target: string): string {
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..')) {
    throw new GatehouseError(`invalid target path '${target}'`, {
      hint: 'give the generated file as an absolute path such as /etc/shorewall/rules, without ..',
    });
  }
  return '/' + parts.join('/');
}

/** The folder holding a target's fragments inside a templates tree. */
export function targetFolder(base: string, target: string): string {
  return join(base, normalizeTarget(target).slice(1));
}

export function sortName(fileName: string): string {
  return fileName.endsWith('.hbs') ? fileName.slice(0, -'.hbs'.length) : fileName;
}

function isSkipped(fileName: string): boolean {
  if (fileName.startsWith('.') || fileName.startsWith('#')) return true;
  return SKIPPED_SUFFIXES.some((s) => fileName.endsWith(s));
}

function compareNames(a: string, b: string): number {
  const rank = (n: string): number => (n === FIRST ? 0 : n === LAST ? 2 : 1);
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  return a < b ? -1 : a > b ? 1 : 0;
}

function listFolder(folder: string, origin: Fragment['origin'], dirs: TemplateDirs, tree: string = dirs.custom): Fragment[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
  const out: Fragment[] = [];
  const seen = new Map<string, string>();
  for (const fileName of names) {
    if (isSkipped(fileName)) continue;
    const file = join(folder, fileName);
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    // What a fragment prints becomes firewall rules that root loads.
    if (origin === 'custom') assertTrustedFile(file, tree, dirs.root ?? tree, 'the custom fragment');
    const name = sortName(fileName);
    const other = seen.get(name);
    if (other !== undefined) {
      throw new GatehouseError(`fragments '${other}' and '${fileName}' have the same name`, {
        place: { file },
        hint: 'keep one of them: the .hbs suffix is not part of a fragment name',
      });
    }
    seen.set(name, fileName);
    out.push({ name, file, origin, ...(origin === 'custom' ? { tree } : {}), empty: st.size === 0 });
  }
  return out;
}

/**
 * Shipped folders that serve a second target: the IPv6 files (etc/shorewall6/X) are made
 * from the IPv4 folder of the same name (etc/shorewall/X), which prints `family.*`; the
 * IPv6 folder holds only what differs (a fragment of the same name replaces, an empty one
 * disables). Custom fragments stay per family: templates-custom/etc/shorewall6/X.
 */
const SHARED_SHIPPED: readonly [string, string][] = [
  ['/etc/shorewall6/shorewall6.conf', '/etc/shorewall/shorewall.conf'],
  ['/etc/shorewall6/', '/etc/shorewall/'],
];

/** The shipped folders of a target, the shared one first. */
export function shippedFolders(target: string, dirs: TemplateDirs): string[] {
  const normalized = normalizeTarget(target);
  const own = targetFolder(dirs.shipped, normalized);
  for (const [prefix, shared] of SHARED_SHIPPED) {
    if (normalized.startsWith(prefix)) return [targetFolder(dirs.shipped, shared + normalized.slice(prefix.length)), own];
  }
  return [own];
}

/**
 * The fragments of a target in expansion order: shipped and custom merged by name (a
 * custom fragment replaces the shipped one of the same name), byte-wise order, with
 * `template-begin` first and `template-end` last. Empty fragments are kept in the list
 * (so callers can show what was disabled) but render to nothing.
 */
export function listFragments(target: string, dirs: TemplateDirs): Fragment[] {
  const byName = new Map<string, Fragment>();
  for (const folder of shippedFolders(target, dirs)) for (const f of listFolder(folder, 'shipped', dirs)) byName.set(f.name, f);
  const customTrees = dirs.esmithCustom === undefined ? [dirs.custom] : [dirs.esmithCustom, dirs.custom];
  for (const tree of customTrees) {
    const folder = targetFolder(tree, target);
    const flat = statSync(folder, { throwIfNoEntry: false });
    if (flat?.isFile()) {
      // e-smith's flat template: a file at the target path itself replaces every fragment so far.
      assertTrustedFile(folder, tree, dirs.root ?? tree, 'the custom template');
      byName.clear();
      byName.set(FLAT, { name: FLAT, file: folder, origin: 'custom', tree, empty: flat.size === 0 });
      continue;
    }
    if (flat?.isDirectory()) byName.delete(FLAT); // a later fragment folder drops an earlier flat template (e-smith)
    for (const f of listFolder(folder, 'custom', dirs, tree)) byName.set(f.name, f);
  }
  return [...byName.values()].sort((a, b) => compareNames(a.name, b.name));
}

/** True when neither tree has any fragment file for the target (it is not templated here). */
export function hasFragments(target: string, dirs: TemplateDirs): boolean {
  return listFragments(target, dirs).length > 0;
}
