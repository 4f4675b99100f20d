/**
 * The compiler: typed Shorewall configurations in, a plan out (the Plan of src/plan: named
 * parts and their files). Pure and deterministic: the same configuration and inputs always
 * give byte-identical files. The plan's rulesets are complete iptables-restore inputs (raw,
 * mangle, nat and filter all declared), so one restore replaces the whole firewall of a family.
 */
import type { Plan, PlanInputs, PlanOrigins } from '../plan/index.js';
import type { Family, ShorewallConfig } from '../shorewall/index.js';
import { AddressMatches, IpsetRegistry } from './addresses.js';
import type { CompileOptions, FamilyContext } from './context.js';
import { emitIpsets, emitRuleset, emitRuntimeIpsets } from './emit.js';
import { blocklistSets, withBlocklist } from './blocklist.js';
import { withDockerUser } from './docker.js';
import { buildFilter } from './filter.js';
import { TableBuilder, type Ruleset } from './ir.js';
import { addClampMss, addMangleEntries } from './mangle.js';
import { addProviderMarks, compileRouting, routingIsEmpty, routingSysctls, type RoutingSpec } from './routing.js';
import { addMaclist, buildNat, type NatCounts } from './nat.js';
import { addRouteFilter } from './routefilter.js';
import { buildStopped } from './stopped.js';
import { buildZoneModel } from './zones.js';

export type { CompileOptions, InterfaceAddresses } from './context.js';
export type { Chain, IrRule, Match, RuleOrigin, Ruleset, Table, Target } from './ir.js';
export { emitRuleset, ruleText } from './emit.js';
export { originOf, recordOfComment } from './origins.js';
export * from './routing.js';
export { type BlocklistSet, blocklistSets, blocklistSetName, blocklistChainName, blocklistPairChainName, withBlocklist } from './blocklist.js';
export { MANGLE_CHAINS } from './mangle.js';

export interface FamilySummary {
  chains: number;
  rules: number;
  /** Zone-pair chain (`loc-net`) -> rules in it, policy included. */
  rulesPerZonePair: Record<string, number>;
  nat: NatCounts;
}

export interface PlanSummary {
  v4: FamilySummary;
  v6: FamilySummary;
  ipsets: number;
  ipsetEntries: number;
  /** Things read but not acted upon that change meaning: warnings for the administrator. */
  notes: string[];
  /** Things read that make no difference to the rulesets: shown with --verbose. */
  details: string[];
}

/**
 * A compiled plan: the Plan value (parts, summary, inputs) plus, for tests and tools, the
 * texts by their old names. The compiled representation is not kept (about 20 MB at 50,000
 * rules): nothing reads it once the texts are emitted.
 */
export interface CompiledPlan extends Plan {
  summary: PlanSummary;
  rulesV4: string;
  rulesV6: string;
  ipsets: string;
  stoppedV4: string;
  stoppedV6: string;
  sysctl: string;
  /** Providers, rtrules and static routes, turned into ip commands at apply time (the routing part). */
  routing: RoutingSpec;
}

interface FamilyResult {
  ruleset: Ruleset;
  stopped: Ruleset;
  summary: FamilySummary;
  forwards: boolean;
}

function compileFamily(config: ShorewallConfig, family: Family, sets: IpsetRegistry, options: CompileOptions): FamilyResult {
  const ctx: FamilyContext = { config, family, model: buildZoneModel(config, family), sets, addressMatches: new AddressMatches(family, sets), options };
  const filter = buildFilter(ctx);
  const nat = buildNat(ctx);
  const mangle = new TableBuilder('mangle');
  if (config.settings.maclistTable === 'mangle') addMaclist(mangle, ctx);
  if (family === 4) addProviderMarks(mangle, config);
  addMangleEntries(mangle, ctx);
  addClampMss(mangle, ctx);
  // MAC chains in filter are added after the fact: buildFilter already jumps to them.
  let filterTable = filter.table;
  if (config.settings.maclistTable === 'filter') {
    const extra = new TableBuilder('filter');
    addMaclist(extra, ctx);
    const macChains = extra.build().chains.filter((c) => c.policy === undefined);
    filterTable = { name: 'filter', chains: [...filter.table.chains, ...macChains] };
  }
  if (options.blocklist) filterTable = withBlocklist(filterTable, family);
  if (family === 4 && config.settings.docker) filterTable = withDockerUser(filterTable, config.interfaces.map((i) => i.physical));
  const raw = new TableBuilder('raw');
  addRouteFilter(raw, ctx);
  const ruleset: Ruleset = { family, tables: [raw.build(), mangle.build(), nat.table, filterTable] };
  const chains = ruleset.tables.reduce((n, t) => n + t.chains.length, 0);
  const rules = ruleset.tables.reduce((n, t) => n + t.chains.reduce((k, c) => k + c.rules.length, 0), 0);
  return {
    ruleset,
    stopped: buildStopped(ctx),
    summary: { chains, rules, rulesPerZonePair: filter.pairRules, nat: nat.counts },
    forwards: filter.forwards,
  };
}

/** `+name` sets the files use: they come from elsewhere (a blocklist service, the REST API). */
function externalSets(configs: ShorewallConfig[], declared: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  const visit = (list: { items: { kind: string; name?: string }[]; except?: { kind: string; name?: string }[] } | undefined) => {
    for (const item of [...(list?.items ?? []), ...(list?.except ?? [])]) if (item.kind === 'ipset' && item.name !== undefined) names.add(item.name);
  };
  for (const c of configs) {
    for (const rules of [c.rules, c.blrules]) {
      for (const r of rules) {
        visit(r.source.addresses);
        visit(r.dest.addresses);
      }
    }
    for (const h of c.hosts) visit(h.addresses);
    for (const e of c.snat) [e.source, e.dest].forEach(visit);
  }
  return [...names].filter((n) => !declared.has(n)).sort();
}

function forwardingLine(config: ShorewallConfig, forwards: boolean, key: string): string | undefined {
  const setting = config.settings.ipForwarding;
  if (setting === 'Keep') return undefined;
  const on = setting === 'On' || (setting === undefined && forwards);
  return `${key} = ${on ? 1 : 0}`;
}

/**
 * Compiles the IPv4 configuration and, when given, the IPv6 one. Without an IPv6
 * configuration the IPv6 ruleset comes from the IPv4 files: the same zones, interfaces
 * and rules, keeping the rules with no address and those whose addresses are IPv6.
 */
export function compile(v4: ShorewallConfig, v6: ShorewallConfig | undefined, options: CompileOptions = {}): CompiledPlan {
  const sets = new IpsetRegistry();
  const four = compileFamily(v4, 4, sets, options);
  const six = compileFamily(v6 ?? v4, 6, sets, options);
  const definitions = sets.definitions();
  const sysctlLines = [forwardingLine(v4, four.forwards, 'net.ipv4.ip_forward'), forwardingLine(v6 ?? v4, six.forwards, 'net.ipv6.conf.all.forwarding')]
    .filter((l): l is string => l !== undefined)
    .concat(routingSysctls(v4))
    .join('\n');
  const notes = [...v4.notes, ...(v6 ? v6.notes.map((n) => `shorewall6/${n}`) : [])];
  if (v6?.settings.docker) notes.push('shorewall6/shorewall6.conf: DOCKER=Yes is not acted upon: the Docker integration is IPv4 only, as in Shorewall');
  const runtime = [...(options.runtimeIpsets ?? []), ...(options.blocklist ? blocklistSets().map(({ name, family, type, maxelem, timeout }) => ({ name, family, type, maxelem, timeout, counters: true })) : [])];
  const external = externalSets([v4, ...(v6 ? [v6] : [])], new Set(runtime.map((s) => s.name)));
  if (external.length > 0) notes.push(`ipsets named in the files but not defined by the plan (create them before applying): ${external.join(', ')}`);
  const origins: PlanOrigins = { v4: [], v6: [] };
  const texts = {
    rulesV4: emitRuleset(four.ruleset, origins.v4),
    rulesV6: emitRuleset(six.ruleset, origins.v6),
    ipsets: emitIpsets(definitions),
    stoppedV4: emitRuleset(four.stopped),
    stoppedV6: emitRuleset(six.stopped),
    sysctl: sysctlLines === '' ? '' : sysctlLines + '\n',
  };
  const summary: PlanSummary = {
    v4: four.summary,
    v6: six.summary,
    ipsets: definitions.length,
    ipsetEntries: definitions.reduce((n, d) => n + d.entries.length, 0),
    notes,
    details: [...v4.details, ...(v6 ? v6.details.map((n) => `shorewall6/${n}`) : [])],
  };
  const routing = compileRouting(v4);
  const inputs: PlanInputs = {};
  if (options.interfaceAddresses) inputs.interfaceAddresses = options.interfaceAddresses;
  if (runtime.length > 0) inputs.runtimeIpsets = runtime;
  return {
    ...texts,
    routing,
    parts: {
      ipsets: { ipsets: texts.ipsets },
      ...(runtime.length > 0 ? { 'runtime-ipsets': { 'runtime-ipsets': emitRuntimeIpsets(runtime) } } : {}),
      'filter.v4': { 'rules.v4': texts.rulesV4, 'stopped.v4': texts.stoppedV4 },
      'filter.v6': { 'rules.v6': texts.rulesV6, 'stopped.v6': texts.stoppedV6 },
      sysctls: { 'sysctl.conf': texts.sysctl },
      // Only with multi-WAN or static routes: a plan without them is the same as before.
      ...(routingIsEmpty(routing) ? {} : { routing: { 'routing.json': JSON.stringify(routing, null, 2) + '\n' } }),
    },
    summary,
    inputs,
    origins,
  };
}

/** The files of the plan's parts and summary.json, by name (what golden tests compare; the plan store adds plan.json). */
export function planFiles(plan: Plan): Record<string, string> {
  const files: Record<string, string> = {};
  for (const own of Object.values(plan.parts)) Object.assign(files, own);
  files['summary.json'] = JSON.stringify(plan.summary, null, 2) + '\n';
  return files;
}
