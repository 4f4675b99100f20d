/**
 * Fragments print fields, not pre-joined lines, and one shipped tree serves both families:
 * rows reach fragments with their cells named by the file's columns (the layout the parser
 * reads with), etc/shorewall6 is made from the etc/shorewall fragments printing `family.*`,
 * and a custom fragment per family still works.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { shippedPaths } from '../../src/layout/index.js';
import { buildModel, type Row } from '../../src/model/index.js';
import { SHOREWALL_COLUMNS } from '../../src/shorewall/index.js';
import { renderTarget, type TemplateContext, type TemplateDirs } from '../../src/templates/index.js';
import { errorOf, makeTree, removeTree } from './fixtures.js';

const networks: Database = {
  eth0: { type: 'ethernet', props: { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0', ip6addr: 'fd00:1::1/64' } },
  eth1: { type: 'ethernet', props: { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', gateway: '203.0.113.1', ip6addr: '2001:db8::2/64' } },
};
const fwrules: Database = {
  '1': { type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Action: 'accept', Service: 'fwservice;ssh', status: 'enabled' } },
};
const fwservices: Database = { ssh: { type: 'fwservice', props: { Protocol: 'tcp', Ports: '22' } } };
const model = buildModel({ networks, fwrules, fwservices }, { timeZone: 'UTC' });
const context: TemplateContext = { ...model, qos: { mangle: { ipv4: [], ipv6: [] } }, db: { networks, fwrules, fwservices } };

// Every tree a test made (a test may make several), removed after it.
const bases: string[] = [];
afterEach(() => {
  for (const base of bases.splice(0)) removeTree(base);
});

/** The shipped templates with a custom tree of our own. */
function withCustom(files: Record<string, string>): TemplateDirs {
  const base = makeTree(files);
  bases.push(base);
  return { shipped: shippedPaths().templates, custom: join(base, 'custom'), root: base };
}

describe('rows reach fragments as named fields', () => {
  it("every row of every file carries its cells named by that file's columns, in column order", () => {
    const files: [keyof typeof SHOREWALL_COLUMNS, Row[]][] = [];
    for (const v of [model.v4, model.v6]) {
      files.push(['zones', v.zones], ['interfaces', v.interfaces], ['policy', v.policy], ['stoppedrules', v.stoppedRules]);
      files.push(['rules', [...v.rules.ping, ...v.rules.dns, ...v.rules.rules.flatMap((g) => g.rows), ...v.rules.services.flatMap((g) => g.rows)]]);
      files.push(['snat', v.snat.masquerade]);
    }
    for (const [file, rows] of files) {
      for (const r of rows) {
        expect(Object.keys(r.fields ?? {}), `${file}: ${r.line}`).toEqual([...SHOREWALL_COLUMNS[file]]);
        expect(r.cells.every((c, i) => r.fields![SHOREWALL_COLUMNS[file][i]!] === c), `${file}: ${r.line}`).toBe(true);
      }
    }
    expect(model.v4.rules.rules[0]!.rows[0]!.fields).toMatchObject({ action: 'ACCEPT', source: 'loc', dest: 'net', proto: 'tcp', dport: '22', sport: '-' });
  });

  it('a custom fragment prints single fields, or a whole row with some fields replaced', () => {
    const dirs = withCustom({
      'custom/etc/shorewall/rules/65limited': [
        '{{#each family.rules.rules}}{{#each rows}}',
        '# {{fields.action}} from {{fields.source}} to port {{fields.dport}}',
        '{{row fields rate="s:10/min"}}',
        '{{/each}}{{/each}}',
        '',
      ].join('\n'),
    });
    const text = renderTarget('/etc/shorewall/rules', context, dirs);
    expect(text).toContain('# ACCEPT from loc to port 22\nACCEPT\tloc\tnet\ttcp\t22\t-\t-\ts:10/min\n');
  });

  it('{{rows groups}} prints commented groups exactly as the nested each blocks do', () => {
    const nested = '{{#each family.rules.rules}}\n?COMMENT {{comment}}\n{{#each rows}}\n{{row fields}}\n{{/each}}\n{{/each}}\n';
    const viaEach = renderTarget('/etc/shorewall/rules', context, withCustom({ 'custom/etc/shorewall/rules/65mine': nested }));
    const viaHelper = renderTarget('/etc/shorewall/rules', context, withCustom({ 'custom/etc/shorewall/rules/65mine': '{{rows family.rules.rules}}' }));
    const group = model.v4.rules.rules[0]!;
    // The shipped 60rules (through the helper) and then the custom fragment: the same group twice.
    expect(viaEach).toContain(`?COMMENT ${group.comment}\n${group.rows[0]!.line}\n?COMMENT\n?COMMENT ${group.comment}\n${group.rows[0]!.line}\n`);
    expect(viaHelper).toBe(viaEach);
    const e = errorOf(() => renderTarget('/etc/shorewall/rules', context, withCustom({ 'custom/etc/shorewall/rules/67bad': '{{rows family.rules.ping.x}}' })));
    expect(e.format()).toMatch(/67bad:1: fragment failed: helper 'rows': give it a list of commented rows/);
  });

  it('replacing a field that the file does not have names the fragment, the line and the columns', () => {
    const dirs = withCustom({ 'custom/etc/shorewall/rules/65bad': '{{#each family.rules.ping}}\n{{row fields level="info"}}\n{{/each}}\n' });
    const e = errorOf(() => renderTarget('/etc/shorewall/rules', context, dirs));
    expect(e.format()).toMatch(/65bad:2: fragment failed: helper 'row': 'level' is not a column of this row \(columns: action, source, dest, proto, dport, sport, origdest, rate, user, mark, connlimit, time, headers, switch, helper\)/);
  });
});

describe('one shipped tree for both families', () => {
  it('the IPv6 files come from the same fragments, with the IPv6 rows', () => {
    const dirs = withCustom({});
    const v6 = renderTarget('/etc/shorewall6/rules', context, dirs);
    expect(v6).toContain('Add fragments under etc/gatehouse/templates-custom/etc/shorewall6/rules/ instead.');
    expect(v6).toContain(model.v6.rules.rules[0]!.rows[0]!.line);
    expect(renderTarget('/etc/shorewall/rules', context, dirs)).toContain(model.v4.rules.rules[0]!.rows[0]!.line);
  });

  it('a custom fragment per family still works: each lands in its own family only', () => {
    const dirs = withCustom({
      'custom/etc/shorewall/rules/95four': '# only IPv4\n',
      'custom/etc/shorewall6/rules/95six': '# only IPv6\n',
    });
    const v4 = renderTarget('/etc/shorewall/rules', context, dirs);
    const v6 = renderTarget('/etc/shorewall6/rules', context, dirs);
    expect([v4.includes('# only IPv4'), v4.includes('# only IPv6')]).toEqual([true, false]);
    expect([v6.includes('# only IPv4'), v6.includes('# only IPv6')]).toEqual([false, true]);
  });

  it('etc/shorewall6 in the shipped tree holds only what IPv6 does differently (no copies)', () => {
    const root = join(shippedPaths().templates, 'etc');
    for (const dir of readdirSync(join(root, 'shorewall6'))) {
      const shared = join(root, 'shorewall', dir === 'shorewall6.conf' ? 'shorewall.conf' : dir);
      for (const name of readdirSync(join(root, 'shorewall6', dir))) {
        const own = join(root, 'shorewall6', dir, name);
        const other = join(shared, name);
        const copy = statSync(other, { throwIfNoEntry: false })?.isFile() === true && readFileSync(other, 'utf8') === readFileSync(own, 'utf8');
        expect(copy, `${own} is a copy of ${other}`).toBe(false);
      }
    }
  });
});
