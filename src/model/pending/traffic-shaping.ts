/**
 * PLACEHOLDER until traffic shaping lands (issue 17): every record shaping would act on
 * gets a "not yet supported" warning, so nothing is dropped silently. The shaping work
 * replaces this file and its one call in src/model/index.ts.
 */
import type { Database } from '../../db/index.js';
import type { ModelWarning } from '../types.js';

const NOT_YET = 'traffic shaping is not supported yet';
const BANDWIDTH_PROPS = ['FwInBandwidth', 'FwOutBandwidth', 'TCLinklayer'];

export function pendingTrafficShapingWarnings(dbs: Record<string, Database>): ModelWarning[] {
  const networks = dbs['networks'] ?? {};
  const tc = dbs['tc'] ?? {};
  const out: ModelWarning[] = [];
  let shaped = false;
  for (const key of Object.keys(networks).sort()) {
    const props = networks[key]!.props;
    for (const prop of BANDWIDTH_PROPS) {
      if ((props[prop] ?? '') === '') continue;
      shaped = true;
      out.push({ place: { db: 'networks', key, prop }, message: `'${props[prop]}' has no effect: ${NOT_YET}` });
    }
  }
  const fwrules = dbs['fwrules'] ?? {};
  const classRules: string[] = [];
  for (const key of Object.keys(fwrules).sort()) {
    const rec = fwrules[key]!;
    const action = rec.props['Action'] ?? '';
    if (rec.type !== 'rule' || !/^class;/i.test(action) || rec.props['status'] === 'disabled') continue;
    const name = action.slice('class;'.length);
    classRules.push(name);
    out.push({ place: { db: 'fwrules', key, prop: 'Action' }, message: `traffic-shaping rule to ${tc[name]?.type === 'class' ? '' : 'missing '}class '${name}' skipped: ${NOT_YET}` });
  }
  // Classes act only on shaped interfaces through class rules (as on NethServer): the
  // shipped high and low classes alone warn about nothing.
  if (shaped || classRules.length > 0) {
    for (const key of Object.keys(tc).sort()) {
      if (tc[key]!.type === 'class') out.push({ place: { db: 'tc', key }, message: `class (${describeProps(tc[key]!.props)}) has no effect: ${NOT_YET}` });
    }
  }
  return out;
}

/** `a=1 b=2`, sorted, for messages that must change when any prop does. */
function describeProps(props: Record<string, string>): string {
  const text = Object.keys(props).sort().filter((p) => props[p] !== '').map((p) => `${p}=${props[p]}`).join(' ');
  return text === '' ? 'no props' : text;
}
