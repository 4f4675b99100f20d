import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fragmentCacheStats, renderTarget, type TemplateContext, type TemplateDirs } from '../../src/templates/index.js';
import { errorOf, makeTree, removeTree } from './fixtures.js';

let base: string | undefined;
afterEach(() => {
  if (base) removeTree(base);
  base = undefined;
});

function setup(files: Record<string, string>): TemplateDirs {
  base = makeTree(files);
  return { shipped: join(base, 'shipped'), custom: join(base, 'custom') };
}

const context: TemplateContext = {
  mode: 'gateway',
  db: {
    configuration: { firewall: { type: 'firewall', props: { Policy: 'strict', Empty: '' } } },
    hosts: {
      web: { type: 'host', props: { IpAddress: '192.168.1.10' } },
      alpha: { type: 'host', props: { IpAddress: '192.168.1.5' } },
      lan: { type: 'zone', props: { Network: '192.168.1.0/24' } },
    },
  },
};

describe('fragment rendering', () => {
  it('a fragment reads a prop as db.<name>.<key>.props.<Prop>', () => {
    const d = setup({ 'custom/etc/x/10p': 'POLICY={{db.configuration.firewall.props.Policy}}\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('POLICY=strict\n');
  });

  it('a fragment iterates a database with #each and @key', () => {
    const d = setup({ 'custom/etc/x/10h': '{{#each db.hosts}}\n{{@key}} {{this.type}}\n{{/each}}\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('web host\nalpha host\nlan zone\n');
  });

  it('model fields sit at the top level of the context', () => {
    const d = setup({ 'custom/etc/x/10m': 'mode={{mode}}\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('mode=gateway\n');
  });

  it('output is not HTML-escaped', () => {
    const d = setup({ 'custom/etc/x/10e': '{{v}}\n' });
    expect(renderTarget('/etc/x', { ...context, v: "a<b>&'\"" }, d)).toBe("a<b>&'\"\n");
  });

  it('records sorts by key and filters by type; pad aligns a column', () => {
    const d = setup({ 'custom/etc/x/10r': '{{#each (records db.hosts "host")}}\n{{pad key 8}}{{props.IpAddress}}\n{{/each}}\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('alpha   192.168.1.5\nweb     192.168.1.10\n');
  });

  it('default treats an empty prop as missing, as e-smith does', () => {
    const d = setup({ 'custom/etc/x/10d': '{{default db.configuration.firewall.props.Empty "fallback"}} {{default db.configuration.firewall.props.Policy "x"}}\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('fallback strict\n');
  });

  it('eq, join, split and columns print what a Shorewall line needs', () => {
    const d = setup({
      'custom/etc/x/10c': '{{#if (eq mode "gateway")}}gw{{/if}} {{join (split "a, b,,c" ",") ":"}} {{columns "ACCEPT" "loc" "" "tcp"}}\n',
    });
    expect(renderTarget('/etc/x', context, d)).toBe('gw a:b:c ACCEPT\tloc\t-\ttcp\n');
  });

  it('a syntax error names the fragment file and line', () => {
    const d = setup({ 'shipped/etc/x/10ok': 'fine\n', 'custom/etc/x/20bad.hbs': 'one\ntwo\n{{#each db.hosts}}\nno end\n' });
    const e = errorOf(() => renderTarget('/etc/x', context, d));
    expect(e.place.file).toBe(join(d.custom, 'etc/x/20bad.hbs'));
    expect(e.place.line).toBe(5);
    expect(e.format()).toMatch(/20bad\.hbs:5: Handlebars syntax error/);
    expect(e.format()).not.toContain('\n');
  });

  it('a mismatched closing block names its line', () => {
    const d = setup({ 'custom/etc/x/10bad': 'a\n{{#if mode}}\nx\n{{/each}}\n' });
    const e = errorOf(() => renderTarget('/etc/x', context, d));
    expect(e.place.line).toBe(2);
  });

  it('an unknown helper is an error with its line, not a blank', () => {
    const d = setup({ 'custom/etc/x/10bad': 'a\nb\n{{frobnicate mode}}\n' });
    const e = errorOf(() => renderTarget('/etc/x', context, d));
    expect(e.place).toMatchObject({ file: join(d.custom, 'etc/x/10bad'), line: 3 });
    expect(e.message).toMatch(/unknown helper 'frobnicate'/);
  });

  it('a helper given bad arguments fails with the fragment line', () => {
    const d = setup({ 'custom/etc/x/10bad': '\n{{pad mode "wide"}}\n' });
    const e = errorOf(() => renderTarget('/etc/x', context, d));
    expect(e.place.line).toBe(2);
    expect(e.message).toMatch(/pad: width must be a whole number/);
  });
});

describe('fragment cache', () => {
  it('each fragment is compiled once per process and reused on later renders', () => {
    const d = setup({ 'shipped/etc/x/10a': 'a {{mode}}\n', 'shipped/etc/x/20b': 'b\n', 'custom/etc/x/30c.hbs': 'c\n' });
    const before = fragmentCacheStats();
    renderTarget('/etc/x', context, d);
    const afterFirst = fragmentCacheStats();
    renderTarget('/etc/x', context, d);
    renderTarget('/etc/x', context, d);
    const afterThird = fragmentCacheStats();
    expect(afterFirst.compiled - before.compiled).toBe(3);
    expect(afterThird.compiled - afterFirst.compiled).toBe(0);
    expect(afterThird.reused - afterFirst.reused).toBe(6);
  });

  it('a fragment whose text changed is compiled again', () => {
    const d = setup({ 'custom/etc/x/10a': 'old\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('old\n');
    const before = fragmentCacheStats().compiled;
    writeFileSync(join(d.custom, 'etc/x/10a'), 'new\n');
    expect(renderTarget('/etc/x', context, d)).toBe('new\n');
    expect(fragmentCacheStats().compiled - before).toBe(1);
  });
});
