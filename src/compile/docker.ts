/**
 * Docker integration (shorewall.conf DOCKER=Yes, written from `configuration firewall
 * Docker=enabled`), IPv4 as in Shorewall. Docker keeps its own chains and rules and puts
 * `-j DOCKER-USER` first in FORWARD whenever it starts; DOCKER-USER is the chain it leaves to
 * the administrator and never flushes. Like MicroFW, Gatehouse then filters forwarded
 * traffic from inside DOCKER-USER instead of ahead of Docker in FORWARD:
 *
 * - FORWARD holds only `-j DOCKER-USER` (the apply layer keeps that jump present and never
 *   removes it: Docker needs it too), and DOCKER-USER holds Gatehouse's forward rules;
 * - traffic between Gatehouse's interfaces is decided as without Docker;
 * - what enters or leaves one of Docker's bridges (docker0, br-*) and no Gatehouse rule
 *   decided returns to Docker's chains (its published ports, its isolation, its policy);
 * - the firewall itself may reach its containers (OUTPUT to Docker's bridges is accepted).
 *
 * A Docker bridge that is also one of Gatehouse's interfaces is Gatehouse's to decide.
 */
import type { Chain, IrRule, Table } from './ir.js';

/** Docker's default bridge and its user-defined networks' bridges. */
export const DOCKER_BRIDGES = ['docker0', 'br-+'] as const;
export const DOCKER_USER_CHAIN = 'DOCKER-USER';

function covers(pattern: string, iface: string): boolean {
  return pattern.endsWith('+') ? iface.startsWith(pattern.slice(0, -1)) : pattern === iface;
}

/** Where rules for traffic nothing dispatched go: after the last rule that dispatches by interface. */
function afterDispatch(rules: readonly IrRule[], kind: 'inInterface' | 'outInterface'): number {
  const dispatch = rules.findLastIndex((r) => r.target.kind === 'jump' && r.matches.some((m) => m.kind === kind));
  if (dispatch >= 0) return dispatch + 1;
  return rules.findLastIndex((r) => r.matches.some((m) => m.kind === 'conntrackState')) + 1;
}

/**
 * The filter table with Gatehouse's FORWARD rules moved into DOCKER-USER (see the file
 * comment). `own` are Gatehouse's interfaces (kernel names, `+` wildcards allowed).
 */
export function withDockerUser(filter: Table, own: readonly string[]): Table {
  const bridges = DOCKER_BRIDGES.filter((b) => !own.some((o) => covers(o, b.replace(/\+$/, '')) || covers(b, o.replace(/\+$/, ''))));
  let user: Chain | undefined;
  const chains = filter.chains.map((c): Chain => {
    if (c.name === 'FORWARD') {
      const rules = [...c.rules];
      const returns: IrRule[] = bridges.flatMap((b) => [
        { matches: [{ kind: 'inInterface', name: b }], target: { kind: 'RETURN' } },
        { matches: [{ kind: 'outInterface', name: b }], target: { kind: 'RETURN' } },
      ]);
      rules.splice(afterDispatch(rules, 'inInterface'), 0, ...returns);
      user = { name: DOCKER_USER_CHAIN, rules };
      return { ...c, rules: [{ matches: [], target: { kind: 'jump', chain: DOCKER_USER_CHAIN } }] };
    }
    if (c.name === 'OUTPUT') {
      const rules = [...c.rules];
      rules.splice(afterDispatch(rules, 'outInterface'), 0, ...bridges.map((b): IrRule => ({ matches: [{ kind: 'outInterface', name: b }], target: { kind: 'ACCEPT' } })));
      return { ...c, rules };
    }
    return c;
  });
  return { name: filter.name, chains: user ? [...chains, user] : chains };
}
