/**
 * Apply modes (DESIGN.md): `dry-run` touches nothing, `netns:<name>` runs every kernel
 * command under `ip netns exec <name>`, `host` changes this machine. `host` is never
 * chosen silently: only when the root is `/` and the process runs as root.
 */
import { GatehouseError } from '../errors/index.js';
import { type ApplyMode, formatApplyMode } from '../plan/index.js';

export { type ApplyMode, formatApplyMode };

const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function parseApplyMode(text: string): ApplyMode {
  if (text === 'dry-run') return { kind: 'dry-run' };
  if (text === 'host') return { kind: 'host' };
  if (text.startsWith('netns:')) {
    const name = text.slice('netns:'.length);
    if (NETNS_NAME.test(name)) return { kind: 'netns', name };
  }
  throw new GatehouseError(`invalid apply mode '${text}'`, {
    hint: 'use dry-run, netns:<namespace name> or host',
  });
}

/** The mode in force: explicit (--apply), else GATEHOUSE_APPLY, else the safe default. */
export function resolveApplyMode(root: string, explicit?: string): ApplyMode {
  const text = explicit ?? process.env['GATEHOUSE_APPLY'];
  if (text !== undefined && text !== '') return parseApplyMode(text);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return root === '/' && isRoot ? { kind: 'host' } : { kind: 'dry-run' };
}
