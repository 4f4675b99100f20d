/**
 * The routing compile, pure: Shorewall providers/rtrules/routes (as the multi-WAN model
 * goldens generate them) to a routing spec, the provider marks in mangle, and the ip
 * batch for given provider states and target facts. Golden files in test/golden/wan/.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RoutingSpec, type TargetRouting, compile, routingBatch } from '../../src/compile/index.js';
import { parseShorewall } from '../../src/shorewall/index.js';
import { rangeToNetworks } from '../../src/model/multiwan.js';

const update = process.env['UPDATE_GOLDEN'] === '1';
const goldens = join(import.meta.dirname, '../golden/wan');

function compiledFrom(modelScenario: string) {
  const dir = join(import.meta.dirname, '../golden/model', modelScenario, 'expected/etc/shorewall');
  const files = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  return compile(parseShorewall(files, { family: 4, dir }), undefined);
}

function golden(name: string, text: string): void {
  const path = join(goldens, name);
  if (update) writeFileSync(path, text);
  expect(text, name).toBe(readFileSync(path, 'utf8'));
}

const TARGET: TargetRouting = {
  addresses: { eth0: ['192.168.1.1/24'], eth1: ['1.2.3.4/24'], eth2: ['10.20.0.7/24'], eth3: ['100.64.0.9/24'] },
  learnedGateways: { eth2: '10.20.0.1', eth3: '100.64.0.1' },
  pointToPoint: [],
  ownRulePriorities: [],
  mainDefaults: [['default', 'table', 'main', 'proto', 'dhcp', 'metric', '100', 'via', '10.20.0.1', 'dev', 'eth2']],
};

describe('routing compile', () => {
  const balance = compiledFrom('multiwan-balance');
  const backup = compiledFrom('multiwan-backup');

  it('keeps providers, rtrules and static routes as the routing spec (balance scenario)', () => {
    golden('balance.routing.json', JSON.stringify(balance.routing, null, 2) + '\n');
  });

  it('marks connections by provider in mangle: restore, track inbound, record the balanced choice, save', () => {
    const from = balance.rulesV4.indexOf('*mangle');
    const mangle = balance.rulesV4.slice(from, balance.rulesV4.indexOf('COMMIT', from) + 7);
    golden('balance.mangle.v4', mangle);
    expect(balance.sysctl).toMatch(/net\.ipv4\.fib_multipath_hash_policy = 1/);
    expect(balance.sysctl).toMatch(/net\.ipv4\.conf\.eth2\.rp_filter = 2/);
  });

  it('balance, both up: weighted multipath default 2:1, a table and a source rule per provider, the DHCP default leaves main', () => {
    golden('balance.up.batch', routingBatch(balance.routing, {}, TARGET).commands.join('\n') + '\n');
  });

  it('balance, red1 down: its mark rule and nexthop go, its table and source rule stay (the monitor still probes through it)', () => {
    const b = routingBatch(balance.routing, { red1: 'down' }, TARGET);
    golden('balance.red1-down.batch', b.commands.join('\n') + '\n');
    expect(b.providers.map((p) => [p.name, p.routing])).toEqual([['red1', false], ['red2', true]]);
  });

  it('every provider down: routing goes through all of them, so recovery never waits for a route', () => {
    const b = routingBatch(balance.routing, { red1: 'down', red2: 'down' }, TARGET);
    expect(b.commands).toContain('route replace default table 250 proto 201 nexthop via 1.2.3.1 dev eth1 weight 2 nexthop via 10.20.0.1 dev eth2 weight 1');
    expect(b.warnings).toContain('every provider is down: routing through all of them until one comes back');
  });

  it('a red interface without an address (DHCP not answered) leaves its provider out with a warning, never an error', () => {
    const b = routingBatch(balance.routing, {}, { ...TARGET, addresses: { ...TARGET.addresses, eth2: [] }, learnedGateways: {} });
    expect(b.warnings).toEqual(['provider red2 (providers:7) is left out: eth2 has no IPv4 address yet']);
    expect(b.commands).toContain('route replace default table 250 proto 201 via 1.2.3.1 dev eth1');
  });

  it('a detect gateway not learned yet leaves the provider out', () => {
    const b = routingBatch(balance.routing, {}, { ...TARGET, learnedGateways: {} });
    expect(b.providers.find((p) => p.name === 'red2')?.problem).toMatch(/no gateway learned on eth2/);
  });

  it('backup: rtrules 26900.. in weight order, only for providers that are up', () => {
    const target: TargetRouting = { ...TARGET, addresses: { eth1: ['1.2.3.4/24'], eth2: ['5.6.7.8/24'], eth3: ['100.64.0.9/24'] } };
    const up = routingBatch(backup.routing, {}, target).commands.filter((c) => /pref 269/.test(c));
    expect(up).toEqual(['rule add pref 26900 to 0.0.0.0/0 table 2', 'rule add pref 26901 to 0.0.0.0/0 table 1', 'rule add pref 26902 to 0.0.0.0/0 table 3']);
    const bDown = routingBatch(backup.routing, { b: 'down' }, target).commands.filter((c) => /pref 269/.test(c));
    expect(bDown).toEqual(['rule add pref 26901 to 0.0.0.0/0 table 1', 'rule add pref 26902 to 0.0.0.0/0 table 3']);
  });

  it('removes exactly the rules it put in place before', () => {
    const b = routingBatch(balance.routing, {}, { ...TARGET, ownRulePriorities: [999, 10001, 20001, 20001, 32765] });
    expect(b.commands.slice(0, 5)).toEqual(['rule del pref 999', 'rule del pref 10001', 'rule del pref 20001', 'rule del pref 20001', 'rule del pref 32765']);
  });

  it('a static route with metric=N in OPTIONS gets that metric; other options are refused naming the line', () => {
    const files = (options: string) => ({ interfaces: 'loc\teth0\nnet\teth1\n', zones: 'fw\tfirewall\nloc\tipv4\nnet\tipv4\n', policy: 'all\tall\tREJECT\n', routes: `main\t10.0.0.0/8\t192.168.1.254\teth0\t${options}\n` });
    const spec = compile(parseShorewall(files('persistent,metric=5'), { family: 4, dir: '/x' }), undefined).routing;
    expect(spec.routes[0]).toMatchObject({ dest: '10.0.0.0/8', metric: 5, persistent: true });
    expect(routingBatch(spec, {}, TARGET).commands).toContain('route replace 10.0.0.0/8 table main proto 201 metric 5 via 192.168.1.254 dev eth0');
    expect(() => parseShorewall(files('metric=x'), { family: 4, dir: '/x' })).toThrow(/unknown route option 'metric=x'/);
  });

  it('a 1:1 NAT range is bound to its provider as the fewest networks that cover it', () => {
    expect(rangeToNetworks('192.168.1.20', '192.168.1.27')).toEqual(['192.168.1.20/30', '192.168.1.24/30']);
    expect(rangeToNetworks('10.0.0.0', '10.0.0.255')).toEqual(['10.0.0.0/24']);
    expect(rangeToNetworks('10.0.0.255', '10.0.1.1')).toEqual(['10.0.0.255', '10.0.1.0/31']);
  });

  it('a plan without providers or routes has no routing part', () => {
    const dir = join(import.meta.dirname, '../golden/model/gateway-basic/expected/etc/shorewall');
    const files = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    const plan = compile(parseShorewall(files, { family: 4, dir }), undefined);
    expect(plan.routing satisfies RoutingSpec).toEqual({ providers: [], rtrules: [], routes: [] });
    expect(plan.rulesV4).not.toMatch(/0xf0000/);
  });
});
