/**
 * Kernel settings (`sysctl.conf`, `key = value` lines), set after both filters are loaded
 * so forwarding is never on before the rules that guard it. The current values are read
 * beside the restores; when the kernel already has every one, nothing is written.
 */
import { GatehouseError } from '../../errors/index.js';
import { definePart } from '../part.js';
import type { KernelRunner } from '../target.js';

export interface Sysctl {
  key: string;
  value: string;
}

const SYSCTL_KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/;

/** `key = value` lines; `#` and `;` comments and blank lines allowed. */
export function parseSysctlConf(text: string, file: string): Sysctl[] {
  const out: Sysctl[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const m = /^([^=\s]+)\s*=\s*(\S(?:.*\S)?)$/.exec(line);
    if (!m || !SYSCTL_KEY.test(m[1]!)) {
      throw new GatehouseError(`not a sysctl setting: '${line.slice(0, 60)}'`, {
        place: { file, line: i + 1 },
        hint: 'write key = value, for example net.ipv4.ip_forward = 1',
      });
    }
    out.push({ key: m[1]!, value: m[2]! });
  });
  return out;
}

async function readValues(target: KernelRunner, sysctls: readonly Sysctl[]): Promise<string[] | undefined> {
  if (sysctls.length === 0 || target.mode.kind === 'dry-run') return undefined;
  const read = await target
    .run({ step: 'sysctl -n (current values)', command: 'sysctl', args: ['-n', ...sysctls.map((s) => s.key)] })
    .catch(() => undefined);
  return read?.trim().split('\n').map((v) => v.trim());
}

function write(target: KernelRunner, sysctls: readonly Sysctl[], file: string): Promise<string> {
  return target.run({ step: `sysctl (${file})`, command: 'sysctl', args: ['-q', '-w', ...sysctls.map((s) => `${s.key}=${s.value}`)] });
}

export const sysctlsPart = definePart<Sysctl[]>({
  name: 'sysctls',
  describe: 'kernel settings (forwarding), set once the filters are in force',
  files: ['sysctl.conf'],
  needs: ['filter.v4', 'filter.v6'],
  required: false,
  parse: (files, dir) => parseSysctlConf(files['sysctl.conf'] ?? '', `${dir}/sysctl.conf`),
  commands: (sysctls) => (sysctls.length > 0 ? ['sysctl'] : []),
  prepare: (target, sysctls) => readValues(target, sysctls),
  async apply(target, sysctls, context) {
    if (sysctls.length === 0) return { unchanged: true };
    const values = context.prepared as string[] | undefined;
    if (values !== undefined && values.length === sysctls.length && sysctls.every((s, i) => values[i] === s.value)) return { unchanged: true };
    await write(target, sysctls, 'sysctl.conf');
    return {};
  },
  async rollback(target, { before }) {
    // With no plan before there is nothing known to go back to; the filters are closed anyway.
    if (before && before.length > 0) await write(target, before, 'sysctl.conf of the previous plan');
  },
  async stop() {
    // Stopping changes filtering, not kernel settings: administration keeps working as before.
  },
  async status(target, sysctls) {
    const values = await readValues(target, sysctls);
    if (values === undefined) return [];
    return sysctls.flatMap((s, i) => (values[i] === s.value ? [] : [`- ${s.key} = ${s.value}`, `+ ${s.key} = ${values[i] ?? '(unreadable)'}`]));
  },
});
