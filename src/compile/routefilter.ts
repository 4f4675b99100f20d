/**
 * Reverse-path filtering (interface option routefilter, ROUTE_FILTER=Yes): a packet whose
 * source address would not be routed back out of the interface it came in on is
 * dropped in raw PREROUTING, before connection tracking, with the rpfilter match rather
 * than the interface's rp_filter sysctl (which fails on an interface that is absent
 * when the plan is applied, and cannot name a wildcard such as ppp+). logmartians and
 * LOG_MARTIANS=Yes log what it drops. DHCP requests come from 0.0.0.0 and are let by.
 */
import { addWithLog, type FamilyContext } from './context.js';
import type { TableBuilder } from './ir.js';

export function addRouteFilter(raw: TableBuilder, ctx: FamilyContext): void {
  const { config, family } = ctx;
  const seen = new Set<string>();
  for (const iface of config.interfaces) {
    const mode = iface.options.routefilter !== 'off' ? iface.options.routefilter : config.settings.routeFilter ? 'strict' : 'off';
    if (mode === 'off' || seen.has(iface.physical)) continue;
    seen.add(iface.physical);
    const chain = `rpf@${iface.physical}`;
    raw.add('PREROUTING', [{ kind: 'inInterface', name: iface.physical }], { kind: 'jump', chain });
    if (iface.options.dhcp) {
      raw.add(chain, [{ kind: 'protocol', name: 'udp' }, { kind: 'destinationPorts', ports: [family === 4 ? '67:68' : '546:547'] }], { kind: 'RETURN' });
    }
    raw.add(chain, [{ kind: 'reversePath', loose: mode === 'loose' }], { kind: 'RETURN' });
    const log = iface.options.logmartians || config.settings.logMartians ? 'info' : undefined;
    addWithLog(raw, config, chain, [], { kind: 'DROP' }, log, { chain: 'rpfilter', disposition: 'DROP' });
  }
}
