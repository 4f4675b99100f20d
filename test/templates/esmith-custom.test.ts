import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { listFragments, renderTarget, type TemplateContext, type TemplateDirs } from '../../src/templates/index.js';
import { errorOf, makeTree, removeTree } from './fixtures.js';

let base: string | undefined;
afterEach(() => {
  if (base) removeTree(base);
  base = undefined;
});

function setup(files: Record<string, string>): TemplateDirs {
  base = makeTree(files);
  return { shipped: join(base, 'shipped'), esmithCustom: join(base, 'esmith'), custom: join(base, 'custom'), root: base };
}

const context: TemplateContext = { db: { configuration: { nethvoice: { type: 'service', props: { AllowExternalIAX: 'enabled' } } } } };
const rules = '/etc/shorewall/rules';

// NethServer's own custom-fragment lines and a Perl fragment from its documentation.
const PERL_40NETHVOICE = `{
    my $iax = $nethvoice{'AllowExternalIAX'} || 'disabled';
    if ($iax eq 'enabled') {
        $OUT .= "ACCEPT\\tnet\\t\\$FW\\tudp\\t4569,5036\\n";
    }
}
`;

describe("NethServer's custom-fragment path etc/e-smith/templates-custom", () => {
  it("the spec's 90mymac fragment lands in the rules file, in name order", () => {
    const d = setup({
      'shipped/etc/shorewall/rules/10base': '?SECTION NEW\n',
      'shipped/etc/shorewall/rules/95end': '# end\n',
      'esmith/etc/shorewall/rules/90mymac': 'DROP      loc:~00-11-22-33-44-55          net\n',
    });
    expect(renderTarget(rules, context, d)).toBe('?SECTION NEW\nDROP      loc:~00-11-22-33-44-55          net\n# end\n');
  });

  it('an e-smith fragment replaces the shipped one of the same name; etc/gatehouse/templates-custom replaces both', () => {
    const d = setup({
      'shipped/etc/shorewall/rules/20a': 'shipped 20a\n',
      'shipped/etc/shorewall/rules/30b': 'shipped 30b\n',
      'esmith/etc/shorewall/rules/20a': 'esmith 20a\n',
      'esmith/etc/shorewall/rules/30b': 'esmith 30b\n',
      'custom/etc/shorewall/rules/30b': 'gatehouse 30b\n',
    });
    expect(renderTarget(rules, context, d)).toBe('esmith 20a\ngatehouse 30b\n');
    expect(listFragments(rules, d).map((f) => [f.name, f.tree])).toEqual([
      ['20a', d.esmithCustom],
      ['30b', d.custom],
    ]);
  });

  it('an empty e-smith fragment disables the shipped one, as on NethServer', () => {
    const d = setup({ 'shipped/etc/shorewall/rules/20a': 'shipped\n', 'shipped/etc/shorewall/rules/30b': 'kept\n', 'esmith/etc/shorewall/rules/20a': '' });
    expect(renderTarget(rules, context, d)).toBe('kept\n');
  });

  it('a flat template (a file at the target path) replaces the whole fragment folder', () => {
    const d = setup({ 'shipped/etc/shorewall/rules/20a': 'shipped\n', 'esmith/etc/shorewall/rules': 'ACCEPT\tloc\tnet\n' });
    expect(renderTarget(rules, context, d)).toBe('ACCEPT\tloc\tnet\n');
  });

  it('a Perl (Text::Template) fragment is refused, naming the file and line and saying how to write it for Gatehouse', () => {
    const d = setup({ 'shipped/etc/shorewall/rules/10base': '?SECTION NEW\n', 'esmith/etc/shorewall/rules/40nethvoice': PERL_40NETHVOICE });
    const e = errorOf(() => renderTarget(rules, context, d));
    expect(e.message).toMatch(/Perl \(Text::Template\) fragment .*Gatehouse does not run Perl/);
    expect(e.place).toEqual({ file: join(d.esmithCustom!, 'etc/shorewall/rules/40nethvoice'), line: 1 });
    expect(e.hint).toMatch(/Handlebars/);
    expect(e.hint).toMatch(/\{\{#if \(eq db\.configuration/);
  });

  it('the same fragment written for Gatehouse works', () => {
    const d = setup({
      'esmith/etc/shorewall/rules/40nethvoice':
        '{{#if (eq db.configuration.nethvoice.props.AllowExternalIAX "enabled")}}\nACCEPT\tnet\t$FW\tudp\t4569,5036\n{{/if}}\n',
    });
    expect(renderTarget(rules, context, d)).toBe('ACCEPT\tnet\t$FW\tudp\t4569,5036\n');
  });

  it("Shorewall's {column:value} lines are not mistaken for Perl", () => {
    const d = setup({ 'custom/etc/shorewall/rules/50x': '{action:ACCEPT, source:loc, dest:net, proto:tcp, dport:22}\n' });
    expect(renderTarget(rules, context, d)).toBe('{action:ACCEPT, source:loc, dest:net, proto:tcp, dport:22}\n');
  });

  it.each([
    ['$OUT', '$OUT .= "x";\n'],
    ['a my/our declaration', 'our @providers = ();\n'],
    ['the e-smith database API', '{ $DB->get_prop("firewall", "Policy") }\n'],
  ])('a Perl fragment is recognised by %s', (what, text) => {
    const d = setup({ 'custom/etc/shorewall/rules/50x': `# mine\n${text}` });
    const e = errorOf(() => renderTarget(rules, context, d));
    expect(e.message).toContain(`(${what})`);
    expect(e.place).toMatchObject({ line: 2 });
  });
});
