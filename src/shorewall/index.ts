/**
 * The Shorewall-style file parser: a directory's files in, a typed configuration out.
 * `readShorewallDir` is the only function here that touches the disk; `parseShorewall`
 * is pure and throws a GatehouseError naming file, line and column for bad input.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import { eachItem, splitFile, type FileItem, type ItemVisitor, type Params } from './lines.js';
import { MACLIST_COLUMNS, NAT_COLUMNS, SNAT_COLUMNS, STOPPED_COLUMNS, parseMaclist, parseNat, parseSnat, parseStoppedRules } from './nat.js';
import { PROVIDER_COLUMNS, ROUTE_COLUMNS, RTRULE_COLUMNS, parseProviders, parseRoutes, parseRtrules } from './providers.js';
import { RULE_COLUMNS, parseRuleFile } from './rules.js';
import { mangleColumns, parseMangle } from './mangle.js';
import { parseAssignments, parseSettings } from './settings.js';
import type { RoutingConfig } from './providers.js';
import type { Family, ShorewallConfig } from './types.js';
import {
  HOST_COLUMNS,
  POLICY_COLUMNS,
  ZONE_COLUMNS,
  interfaceColumns,
  parseHosts,
  parseInterfaces,
  parsePolicy,
  parseZones,
  type ParseContext,
} from './zones.js';

export type * from './types.js';
export type { Provider, RoutingConfig, RoutingRule, StaticRoute } from './providers.js';
export { PROVIDER_MARK_MASK } from './providers.js';
export { knownMacroNames } from './macros.js';
export type { MangleChainName, MangleCommand, MangleEnd, MangleEntry, MarkLayout, MarkOperation, MarkTest } from './mangle.js';
export { markLayout } from './mangle.js';
export { type ColumnFile, SHOREWALL_COLUMNS, joinFields, namedCells } from './columns.js';

/** File name (zones, rules, ...) -> text. */
export type ShorewallFiles = Record<string, string>;

export interface ParseOptions {
  family: Family;
  /** The directory the files came from; kept in the result for messages. */
  dir: string;
}

/** Reads every regular file of a Shorewall directory (no subfolders, no editor backups). */
export async function readShorewallDir(dir: string): Promise<ShorewallFiles> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new GatehouseError(`cannot read the directory ${dir}`, { place: { file: dir }, hint: 'check --dir or --root', cause: e });
  }
  const files: ShorewallFiles = {};
  const names = entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('~') && !/\.(rpmnew|rpmsave|orig|bak|swp)$/.test(e.name))
    .map((e) => e.name)
    .sort();
  const texts = await Promise.all(names.map((name) => readFile(join(dir, name), 'utf8')));
  names.forEach((name, i) => (files[name] = texts[i]!));
  return files;
}

/** Shorewall defines these from shorewallrc before reading any file (Debian's values). */
const SHOREWALLRC: Params = { CONFDIR: '/etc', SHAREDIR: '/usr/share', VARDIR: '/var/lib', SBINDIR: '/sbin' };

/** Files read by other stages or at run time; noted, never compiled here. */
const OTHER_STAGES = new Set([
  'conntrack', 'helpers', 'modules', 'modules.essential', 'actions', 'tcinterfaces',
  'tcpri', 'tcclasses', 'tcdevices', 'tcfilters', 'tcrules', 'findgw', 'capabilities', 'init', 'initdone',
  'start', 'started', 'stop', 'stopped', 'clear', 'cleared', 'restored', 'refresh', 'refreshed', 'tcclear', 'isusable',
  'lib.private', 'maclog', 'savesets', 'scfilter', 'enabled', 'disabled', 'postcompile', 'compile', 'tcstart', 'Makefile',
]);
/** Shorewall files that change verdicts and that Gatehouse cannot honour yet: refusing is safer than skipping. */
const NOT_YET = ['tunnels', 'proxyarp', 'proxyndp', 'netmap', 'masq', 'accounting', 'ecn', 'routestopped', 'arprules', 'secmarks', 'notrack', 'rawnat'];
const COMPILED = new Set([
  'params', 'shorewall.conf', 'shorewall6.conf', 'zones', 'interfaces', 'hosts', 'policy', 'rules', 'blrules', 'snat', 'nat', 'maclist',
  'stoppedrules', 'mangle', 'providers', 'rtrules', 'routes',
]);

function hasContent(text: string): boolean {
  return text.split('\n').some((l) => {
    const t = l.replace(/#.*$/, '').trim();
    return t !== '' && !/^\?(COMMENT|FORMAT|SECTION)\b/i.test(t) && !/^\??SECTION\b/.test(t);
  });
}

/** Parses the files of one family into a typed configuration. */
export function parseShorewall(files: ShorewallFiles, options: ParseOptions): ShorewallConfig {
  const notes: string[] = [];
  const details: string[] = [];
  const documentation: string[] = [];
  for (const name of Object.keys(files).sort()) {
    const text = files[name] ?? '';
    if (COMPILED.has(name)) continue;
    if (NOT_YET.includes(name)) {
      if (hasContent(text)) {
        throw new GatehouseError(`the ${name} file is valid Shorewall but Gatehouse does not support it yet`, {
          place: { file: name },
          hint: 'empty it, or express the same with rules, snat or nat',
        });
      }
      continue;
    }
    if (OTHER_STAGES.has(name)) {
      if (hasContent(text)) notes.push(`${name}: not part of the filter compile (read by another stage or ignored)`);
      continue;
    }
    // Shorewall's sample directories ship annotated copies and a README beside the files.
    if (/\.annotated$|^README|^LICENSE|\.txt$|\.md$/.test(name)) documentation.push(name);
    else notes.push(`${name}: unknown file, ignored`);
  }
  if (documentation.length > 0) details.push(`documentation files, not read: ${documentation.join(', ')}`);

  // $FW may appear in params only as the default name; the zones file fixes it afterwards.
  const params: Params = files['params'] === undefined ? { ...SHOREWALLRC } : parseAssignments('params', files['params'], SHOREWALLRC, 'fw').values;
  // Other files see params and, for names params does not define, shorewall.conf's options ($LOG_LEVEL), as in Shorewall.
  let fileParams = params;
  const split = (file: string, columns: readonly string[] | ((format: number) => readonly string[]), firewallZone: string): FileItem[] =>
    files[file] === undefined ? [] : splitFile(files[file], { file, columns, params: fileParams, firewallZone });
  // Rules files are parsed while they are split, each row garbage as soon as it is read.
  const stream = (file: 'rules' | 'blrules', firewallZone: string) => (visit: ItemVisitor) => {
    const text = files[file];
    if (text !== undefined) eachItem(text, { file, columns: RULE_COLUMNS, params: fileParams, firewallZone }, visit);
  };

  if (files['zones'] === undefined) {
    throw new GatehouseError('the zones file is missing', { place: { file: join(options.dir, 'zones') }, hint: 'a Shorewall directory needs zones, interfaces and policy' });
  }
  const zones = parseZones(split('zones', ZONE_COLUMNS, 'fw'), options.family);
  const firewallZone = zones.find((z) => z.type === 'firewall')!.name;
  const ctx: ParseContext = { family: options.family, firewallZone, zones: new Map(zones.map((z) => [z.name, z])), interfaces: new Map(), selectors: new Map() };

  const confName = options.family === 6 && files['shorewall6.conf'] !== undefined ? 'shorewall6.conf' : 'shorewall.conf';
  const { settings, notes: settingNotes, details: settingDetails } = parseSettings(files[confName], params, firewallZone);
  notes.push(...settingNotes);
  details.push(...settingDetails);
  fileParams = { ...settings.raw, ...params };

  const interfaces = parseInterfaces(split('interfaces', interfaceColumns, firewallZone), ctx, notes);
  const hosts = parseHosts(split('hosts', HOST_COLUMNS, firewallZone), ctx);
  const policies = parsePolicy(split('policy', POLICY_COLUMNS, firewallZone), ctx);
  const rules = parseRuleFile(stream('rules', firewallZone), ctx, 'rules');
  const blrules = parseRuleFile(stream('blrules', firewallZone), ctx, 'blrules');
  const snat = parseSnat(split('snat', SNAT_COLUMNS, firewallZone), ctx);
  const nat = parseNat(split('nat', NAT_COLUMNS, firewallZone), ctx);
  const hostsWithMaclist = new Set(hosts.filter((h) => h.options.maclist).map((h) => h.interface));
  const maclist = parseMaclist(split('maclist', MACLIST_COLUMNS, firewallZone), ctx, hostsWithMaclist);
  const stoppedRules = parseStoppedRules(split('stoppedrules', STOPPED_COLUMNS, firewallZone), ctx);
  const mangle = parseMangle(split('mangle', mangleColumns(options.family), firewallZone), ctx, settings);
  const routing = parseRouting(options.family, (file, columns) => split(file, columns, firewallZone), ctx);

  return {
    family: options.family,
    dir: options.dir,
    firewallZone,
    settings,
    zones,
    interfaces,
    hosts,
    policies,
    rules,
    blrules,
    snat,
    nat,
    maclist,
    stoppedRules,
    mangle,
    routing,
    notes,
    details,
  };
}

/** providers, rtrules and routes (IPv4 only: an IPv6 provider is refused, never skipped). */
function parseRouting(family: Family, split: (file: string, columns: readonly string[]) => FileItem[], ctx: ParseContext): RoutingConfig {
  if (family === 6) {
    for (const file of ['providers', 'rtrules', 'routes']) {
      if (split(file, ['any']).some((i) => i.kind === 'row')) {
        throw new GatehouseError(`IPv6 ${file} are not supported yet`, { place: { file }, hint: 'multi-WAN routing is IPv4; empty this file' });
      }
    }
    return { providers: [], rtrules: [], routes: [] };
  }
  const byName = new Map([...ctx.interfaces.values()].map((i) => [i.name, i]));
  const providers = parseProviders(split('providers', PROVIDER_COLUMNS), byName);
  return {
    providers,
    rtrules: parseRtrules(split('rtrules', RTRULE_COLUMNS), providers, byName),
    routes: parseRoutes(split('routes', ROUTE_COLUMNS), providers),
  };
}
