/**
 * `compile`: read the expanded $ROOT/etc/shorewall (and etc/shorewall6 when present),
 * compile, and put the plan into plan/next in one rename. Nothing is written when the
 * files are wrong, so the event stops before `apply` with the running plan untouched.
 * Outside dry-run, when the files may name one (`&red0` in port forwards), the addresses
 * of the target's interfaces are read from the target; in dry-run the compiler falls back
 * to address types.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createKernelRunner, planPaths } from '../../apply/index.js';
import { compile, planFiles, type InterfaceAddresses } from '../../compile/index.js';
import { GatehouseError } from '../../errors/index.js';
import { runtimePaths } from '../../layout/index.js';
import { parseShorewall, readShorewallDir } from '../../shorewall/index.js';
import type { ActionContext } from './index.js';

interface IpAddrEntry {
  ifname?: string;
  addr_info?: { family?: string; local?: string; scope?: string }[];
}

/** `ip -j addr show` output -> interface -> global addresses per family. */
export function parseInterfaceAddresses(json: string): Record<string, InterfaceAddresses> {
  let entries: IpAddrEntry[];
  try {
    entries = JSON.parse(json) as IpAddrEntry[];
  } catch (e) {
    throw new GatehouseError('cannot read the interface addresses (ip -j addr show gave no JSON)', { cause: e });
  }
  const out: Record<string, InterfaceAddresses> = {};
  for (const entry of entries) {
    if (entry.ifname === undefined) continue;
    const addresses: InterfaceAddresses = { v4: [], v6: [] };
    for (const info of entry.addr_info ?? []) {
      if (info.local === undefined || info.scope === 'link' || info.scope === 'host') continue;
      if (info.family === 'inet') addresses.v4.push(info.local);
      else if (info.family === 'inet6') addresses.v6.push(info.local);
    }
    out[entry.ifname] = addresses;
  }
  return out;
}

async function readTargetAddresses(context: ActionContext): Promise<Record<string, InterfaceAddresses> | undefined> {
  if (context.applyMode.kind === 'dry-run') return undefined;
  const runner = createKernelRunner(context.applyMode);
  await runner.preflight(['ip']);
  const json = await runner.run({ step: 'ip -j addr show (interface addresses)', command: 'ip', args: ['-j', 'addr', 'show'] });
  return parseInterfaceAddresses(json);
}

/** Writes every file into a sibling folder, then swaps it in: plan/next is whole or absent. */
async function writePlanAtomically(out: string, files: Record<string, string>): Promise<void> {
  const parent = dirname(out);
  await mkdir(parent, { recursive: true });
  const staging = join(parent, `.${basename(out)}.compile-${process.pid}`);
  const old = join(parent, `.${basename(out)}.old-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  try {
    await Promise.all(Object.keys(files).map((name) => writeFile(join(staging, name), files[name] ?? '')));
    if (existsSync(out)) await rename(out, old);
    await rename(staging, out);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

/** `&eth0` can only appear where the text has an `&`: without one, no address is needed. */
function mayNameInterfaceAddresses(...dirs: (Record<string, string> | undefined)[]): boolean {
  return dirs.some((files) => files !== undefined && Object.values(files).some((text) => text.includes('&')));
}

export async function compileAction(context: ActionContext): Promise<void> {
  const paths = runtimePaths(context.root);
  const [v4Files, v6Files] = await Promise.all([
    readShorewallDir(paths.shorewall),
    existsSync(paths.shorewall6) ? readShorewallDir(paths.shorewall6) : undefined,
  ]);
  // The target is asked while the files are parsed (a process start is not free), and
  // only when some file may name an interface's address.
  const addressesRead = mayNameInterfaceAddresses(v4Files, v6Files) ? readTargetAddresses(context) : Promise.resolve(undefined);
  addressesRead.catch(() => undefined);
  const v4 = parseShorewall(v4Files, { family: 4, dir: paths.shorewall });
  const v6 = v6Files && parseShorewall(v6Files, { family: 6, dir: paths.shorewall6 });
  const interfaceAddresses = await addressesRead;
  const plan = compile(v4, v6, interfaceAddresses ? { interfaceAddresses } : {});
  const out = planPaths(context.root).next;
  await writePlanAtomically(out, planFiles(plan));
  const s = plan.summary;
  context.log(
    `compiled into ${out}: IPv4 ${s.v4.chains} chains ${s.v4.rules} rules, IPv6 ${s.v6.chains} chains ${s.v6.rules} rules, ${s.ipsets} ipsets` +
      (interfaceAddresses ? `, addresses of ${Object.keys(interfaceAddresses).length} interfaces` : ''),
  );
  for (const note of s.notes) context.log(`note: ${note}`);
  for (const detail of s.details) context.log(`inert: ${detail}`);
}
