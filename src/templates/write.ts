/**
 * Writing generated files: replaced atomically (temp file in the same folder, then rename),
 * and only when the content changed, so "unchanged" means byte-identical.
 */
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export type WriteOutcome = 'changed' | 'unchanged';

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Write `content` to `file` with `mode`, unless it already holds exactly that. */
export async function writeFileIfChanged(file: string, content: string, mode: number): Promise<WriteOutcome> {
  const current = await readIfExists(file);
  if (current === content) {
    const st = await stat(file);
    if ((st.mode & 0o7777) !== mode) await chmod(file, mode);
    return 'unchanged';
  }
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.gatehouse-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.chmod(mode); // open() applies the umask; the metadata mode must win
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  return 'changed';
}

/** Remove a target that metadata says must not exist. */
export async function deleteFileIfPresent(file: string): Promise<WriteOutcome> {
  try {
    await rm(file);
    return 'changed';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'unchanged';
    throw e;
  }
}
