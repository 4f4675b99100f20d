/**
 * The one compile entry, shared by the `compile` event action and `gatehouse compile`:
 * read the Shorewall-style directories, take the target's interface addresses as an
 * explicit input (read at the edge, only when a file may name one, and recorded in the
 * plan), compile. The same files and inputs always give byte-identical plans.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type CompiledPlan, compile } from '../compile/index.js';
import { GatehouseError } from '../errors/index.js';
import { runtimePaths } from '../layout/index.js';
import { parseShorewall, readShorewallDir } from '../shorewall/index.js';
import type { KernelRunner } from './target.js';
import { QOS_FILE } from '../qos/part.js';
import type { InterfaceAddresses, RuntimeIpset } from './types.js';

export interface PlanSources {
  /** The IPv4 Shorewall-style directory. */
  dir: string;
  /** The IPv6 one; without it IPv6 is derived from the IPv4 files. */
  dir6?: string;
  /**
   * The target's interface addresses, given outright, or a reader called only when some
   * file has an `&` (only then can a rule name `&eth0`). Absent: the compiler falls back
   * to address types.
   */
  interfaceAddresses?: Record<string, InterfaceAddresses> | (() => Promise<Record<string, InterfaceAddresses>>);
  /** Sets filled at run time (REST API blocklist), declared by their producer. */
  runtimeIpsets?: RuntimeIpset[];
  /** FireQOS configuration (etc/firehol/fireqos.conf); absent: the plan holds no traffic-shaping part. */
  fireqos?: string;
  /** The REST API's blocklist chains and sets (on in defaultPlanSources: every plan the box applies has them). */
  blocklist?: boolean;
}

/** $ROOT/etc/shorewall, and $ROOT/etc/shorewall6 when it exists. */
export function defaultPlanSources(root: string): PlanSources {
  const paths = runtimePaths(root);
  const fireqos = join(root, 'etc/firehol/fireqos.conf');
  return {
    dir: paths.shorewall,
    ...(existsSync(paths.shorewall6) ? { dir6: paths.shorewall6 } : {}),
    ...(existsSync(fireqos) ? { fireqos } : {}),
    blocklist: true,
  };
}

/** Where a compile read from, for messages. */
export function describePlanSources(sources: PlanSources): string {
  return sources.dir6 === undefined ? `${sources.dir} (IPv4, IPv6 derived)` : `${sources.dir} (IPv4) and ${sources.dir6} (IPv6)`;
}

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

/** Reads the target's interface addresses (nothing in dry-run: there is no target). */
export async function readInterfaceAddresses(target: KernelRunner): Promise<Record<string, InterfaceAddresses> | undefined> {
  if (target.mode.kind === 'dry-run') return undefined;
  await target.preflight(['ip']);
  return parseInterfaceAddresses(await target.run({ step: 'ip -j addr show (interface addresses)', command: 'ip', args: ['-j', 'addr', 'show'] }));
}

/** `&eth0` can only appear where the text has an `&`: without one, no address is needed. */
function mayNameInterfaceAddresses(...dirs: (Record<string, string> | undefined)[]): boolean {
  return dirs.some((files) => files !== undefined && Object.values(files).some((text) => text.includes('&')));
}

export async function compilePlan(sources: PlanSources): Promise<CompiledPlan> {
  const dir = resolve(sources.dir);
  const dir6 = sources.dir6 === undefined ? undefined : resolve(sources.dir6);
  const [v4Files, v6Files, fireqos] = await Promise.all([
    readShorewallDir(dir),
    dir6 === undefined ? undefined : readShorewallDir(dir6),
    sources.fireqos === undefined ? undefined : readFile(sources.fireqos, 'utf8'),
  ]);
  // The target is asked while the files are parsed (a process start is not free).
  const given = sources.interfaceAddresses;
  const addressesRead =
    typeof given === 'function' ? (mayNameInterfaceAddresses(v4Files, v6Files) ? given() : Promise.resolve(undefined)) : Promise.resolve(given);
  addressesRead.catch(() => undefined);
  const v4 = parseShorewall(v4Files, { family: 4, dir });
  const v6 = v6Files && parseShorewall(v6Files, { family: 6, dir: dir6! });
  const interfaceAddresses = await addressesRead;
  const plan = compile(v4, v6, {
    ...(interfaceAddresses ? { interfaceAddresses } : {}),
    ...(sources.runtimeIpsets && sources.runtimeIpsets.length > 0 ? { runtimeIpsets: sources.runtimeIpsets } : {}),
    ...(sources.blocklist ? { blocklist: true } : {}),
  });
  // Traffic shaping is a part of its own: FireQOS reads the file as it is (src/qos/part.ts checks it).
  if (fireqos !== undefined) plan.parts['qos'] = { [QOS_FILE]: fireqos };
  return plan;
}
