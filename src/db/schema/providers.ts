/**
 * Multi-WAN providers, as far as the networks database alone shows them wrong: a provider
 * on a missing or non-red interface, two providers on one interface, more than fit the
 * provider mark. Shared by `db` (refused when written, blamed on the records the write
 * touches) and read again by the model at the event (for records written by hand).
 */
import type { Database } from '../store.js';
import { INTERFACE_TYPES } from './zones.js';

/** Shorewall's provider numbers 1..15: the provider mark bits 0xf0000 hold no more. */
export const PROVIDERS_MAX = 15;

export interface ProviderProblem {
  key: string;
  prop: string | undefined;
  message: string;
  hint: string;
}

function redInterfaces(networks: Database): string[] {
  return Object.keys(networks)
    .filter((k) => INTERFACE_TYPES.has(networks[k]!.type) && networks[k]!.props['role'] === 'red')
    .sort();
}

/**
 * Problems of the providers in `networks` that involve the `touched` keys: a touched
 * provider record, or a touched interface record a provider names (its role left red).
 */
export function providerProblems(networks: Database, touched: ReadonlySet<string>): ProviderProblem[] {
  const providers = Object.keys(networks)
    .filter((k) => networks[k]!.type === 'provider')
    .sort();
  if (providers.length === 0) return [];
  const out: ProviderProblem[] = [];
  const reds = redInterfaces(networks);
  const useRed = reds.length > 0 ? `use a red interface: ${reds.join(', ')}` : 'give an interface the red role first';
  const owner = new Map<string, string>();
  // Untouched providers claim their interface first, so a clash is blamed on the change.
  const order = [...providers.filter((k) => !touched.has(k)), ...providers.filter((k) => touched.has(k))];
  for (const key of order) {
    const iface = networks[key]!.props['interface'] ?? '';
    if (iface === '') continue;
    const other = owner.get(iface);
    if (other === undefined) owner.set(iface, key);
    if (!touched.has(key)) continue;
    if (other !== undefined) {
      out.push({ key, prop: 'interface', message: `interface '${iface}' already belongs to provider '${other}'`, hint: 'one provider per red interface' });
      continue;
    }
    const rec = Object.hasOwn(networks, iface) ? networks[iface] : undefined;
    if (!rec || !INTERFACE_TYPES.has(rec.type)) {
      out.push({ key, prop: 'interface', message: `interface '${iface}' does not exist`, hint: useRed });
    } else if (rec.props['role'] !== 'red') {
      out.push({ key, prop: 'interface', message: `interface '${iface}' has role ${rec.props['role'] || '(none)'}, not red`, hint: useRed });
    }
  }
  if (providers.length > PROVIDERS_MAX) {
    const blamed = providers.filter((k) => touched.has(k));
    for (const key of blamed) {
      out.push({ key, prop: undefined, message: `${providers.length} providers would exist; at most ${PROVIDERS_MAX} fit the provider mark`, hint: `delete providers until ${PROVIDERS_MAX} remain` });
    }
  }
  for (const key of touched) {
    const rec = Object.hasOwn(networks, key) ? networks[key] : undefined;
    if (!rec || rec.type === 'provider' || (INTERFACE_TYPES.has(rec.type) && rec.props['role'] === 'red')) continue;
    const users = providers.filter((p) => networks[p]!.props['interface'] === key);
    if (users.length > 0) {
      out.push({
        key,
        prop: INTERFACE_TYPES.has(rec.type) ? 'role' : undefined,
        message: `provider${users.length > 1 ? 's' : ''} ${users.join(', ')} use${users.length > 1 ? '' : 's'} this interface, which must stay a red interface`,
        hint: `delete or move the provider first (db networks delete ${users[0]})`,
      });
    }
  }
  return out;
}
