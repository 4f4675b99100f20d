/**
 * NethServer's fragments are Text::Template: literal text with `{ ... }` blocks of Perl.
 * Gatehouse does not run Perl, and Handlebars would either print the code as firewall
 * lines or fail with a confusing syntax error, so a custom fragment that holds Perl is
 * recognised and refused with a message saying how to write it for Gatehouse.
 *
 * Shorewall lines may hold single braces (`{action:ACCEPT, source:loc}`), so braces
 * alone prove nothing; what gives Perl away is `$OUT`, `my`/`our` declarations, the
 * e-smith database API, or a line that is nothing but an opening brace.
 */
const PERL_SIGNS: { pattern: RegExp; what: string }[] = [
  { pattern: /\$OUT\b/, what: '$OUT' },
  { pattern: /(^|[\s{;(])(my|our|local)\s*[$@%(]/, what: 'a my/our declaration' },
  { pattern: /\$(DB|confref|fw)\s*->|esmith::|NethServer::|->\s*(get_prop|prop|get|get_all_by_prop)\s*\(/, what: "the e-smith database API" },
  { pattern: /^\s*\{\s*(#.*)?$/, what: 'a line holding only {' },
];

/** Where a fragment shows Perl: the first 1-based line and what was seen, or undefined. */
export function findPerl(source: string): { line: number; what: string } | undefined {
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // Handlebars expressions are Gatehouse's own: never mistake them for Perl.
    const text = lines[i]!.replace(/\{\{[^}]*\}\}/g, '');
    for (const sign of PERL_SIGNS) if (sign.pattern.test(text)) return { line: i + 1, what: sign.what };
  }
  return undefined;
}

export const PERL_HINT =
  'Gatehouse fragments are plain Shorewall lines with Handlebars, not Perl: write the lines the Perl printed ' +
  '(ACCEPT\tnet\t$FW\tudp\t4569), and turn conditions on records into Handlebars, e.g. ' +
  '{{#if (eq db.configuration.nethvoice.props.AllowExternalIAX "enabled")}}...{{/if}} ' +
  '(README, "Template fragments"); then remove or rename the Perl file';
