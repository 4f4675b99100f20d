/**
 * Trust in files that root runs or loads (custom event actions, custom fragments, the
 * compiled-fragment cache): nothing may be writable by anyone but root or the user
 * running Gatehouse, and no symlink may lead out of the root. Anyone who could change
 * such a file could run code as root or rewrite the firewall.
 */
import { lstatSync, mkdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { GatehouseError } from '../errors/index.js';

/** Users whose files Gatehouse trusts: root and the user it runs as. */
function trustedOwner(uid: number): boolean {
  const self = typeof process.geteuid === 'function' ? process.geteuid() : 0;
  return uid === 0 || uid === self;
}

function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep));
}

/** Why a file or folder cannot be trusted, or undefined. */
function statProblem(st: Stats, what: string): string | undefined {
  if (!trustedOwner(st.uid)) return `${what} is owned by uid ${st.uid}, not by root or the user running Gatehouse`;
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if ((st.mode & 0o002) !== 0) return `${what} is writable by every user (mode ${mode})`;
  if ((st.mode & 0o020) !== 0) return `${what} is writable by its group (mode ${mode})`;
  return undefined;
}

/**
 * Why `file` must not be run or loaded, or undefined when it may be. `boundary` is the
 * folder whose contents are checked (the file and every folder between it and the
 * boundary, boundary included); `root` is where symlinks may lead.
 */
export function untrustedReason(file: string, boundary: string, root: string): string | undefined {
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch (e) {
    return `it cannot be examined (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  let target = file;
  if (st.isSymbolicLink()) {
    try {
      target = realpathSync(file);
    } catch {
      return 'it is a symlink that leads nowhere';
    }
    if (!inside(realpathSync(root), target)) return `it is a symlink leading out of the root (to ${target})`;
    st = statSync(target);
  }
  const own = statProblem(st, 'it');
  if (own) return own;
  const stop = resolve(boundary);
  for (let dir = dirname(resolve(file)); inside(stop, dir); dir = dirname(dir)) {
    const problem = statProblem(lstatSync(dir), `its folder ${dir}`);
    if (problem) return problem;
    if (dir === stop) break;
  }
  return undefined;
}

/** Throw a GatehouseError naming the file when it must not be run or loaded. */
export function assertTrustedFile(file: string, boundary: string, root: string, what: string): void {
  const why = untrustedReason(file, boundary, root);
  if (why === undefined) return;
  throw new GatehouseError(`refusing ${what}: ${why}`, {
    place: { file },
    hint: 'files that root runs or loads must belong to root and be writable by their owner only (chown root, chmod go-w), and symlinks must stay inside the root',
  });
}

/**
 * Create a folder that holds data (databases, logs, caches) readable by its owner only;
 * parents are created as usual. An existing folder is left as it is.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}
