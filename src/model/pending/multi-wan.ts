/**
 * PLACEHOLDER until multi-WAN lands (issue 12): every record multi-WAN would act on gets a
 * "not yet supported" warning, so nothing is dropped silently. The multi-WAN work replaces
 * this file and its one call in src/model/index.ts.
 */
import type { Database } from '../../db/index.js';
import type { ModelWarning } from '../types.js';

const NOT_YET = 'multi-WAN is not supported yet';
/** Firewall props that only steer providers and their link monitor. */
const PROVIDER_SETTINGS = ['WanMode', 'CheckIP', 'MaxNumberPacketLoss', 'MaxPercentPacketLoss', 'PingInterval', 'NotifyWan', 'NotifyWanFrom', 'NotifyWanTo'];

export function pendingMultiWanWarnings(dbs: Record<string, Database>): ModelWarning[] {
  const networks = dbs['networks'] ?? {};
  const out: ModelWarning[] = [];
  const providers = Object.keys(networks).filter((k) => networks[k]!.type === 'provider').sort();
  for (const key of providers) {
    const p = networks[key]!.props;
    out.push({ place: { db: 'networks', key }, message: `provider on ${p['interface'] || '(no interface)'} (weight ${p['weight'] || '1'}) has no effect: ${NOT_YET}; traffic leaves by the main routing table` });
  }
  if (providers.length > 0) {
    const firewall = dbs['configuration']?.['firewall']?.props ?? {};
    for (const prop of PROVIDER_SETTINGS) {
      if ((firewall[prop] ?? '') !== '') out.push({ place: { db: 'configuration', key: 'firewall', prop }, message: `'${firewall[prop]}' has no effect: ${NOT_YET}` });
    }
  }
  const fwrules = dbs['fwrules'] ?? {};
  for (const key of Object.keys(fwrules).sort()) {
    const rec = fwrules[key]!;
    const action = rec.props['Action'] ?? '';
    if (rec.type !== 'rule' || !/^provider;/i.test(action) || rec.props['status'] === 'disabled') continue;
    const name = action.slice('provider;'.length);
    const exists = networks[name]?.type === 'provider';
    out.push({ place: { db: 'fwrules', key, prop: 'Action' }, message: `divert rule to ${exists ? '' : 'missing '}provider '${name}' skipped: ${NOT_YET}` });
  }
  const routes = dbs['routes'] ?? {};
  for (const key of Object.keys(routes).sort()) {
    if (routes[key]!.type !== 'static') continue;
    out.push({ place: { db: 'routes', key }, message: `static route (${describeProps(routes[key]!.props)}) is not applied: routes come with multi-WAN, which is not supported yet` });
  }
  return out;
}

/** `a=1 b=2`, sorted, for messages that must change when any prop does. */
function describeProps(props: Record<string, string>): string {
  const text = Object.keys(props).sort().filter((p) => props[p] !== '').map((p) => `${p}=${props[p]}`).join(' ');
  return text === '' ? 'no props' : text;
}
