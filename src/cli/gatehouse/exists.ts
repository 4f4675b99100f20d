import { stat } from 'node:fs/promises';

/** Whether a path exists (any kind). */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
