/** Shorewall's (the shell's) quoting and expansion rules for params and shorewall.conf, and continuation lines. */
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../src/errors/index.js';
import { parseShorewall, type ShorewallFiles } from '../../src/shorewall/index.js';
import { parseAssignments } from '../../src/shorewall/settings.js';

const values = (text: string, undefinedNames: 'empty' | 'options-empty' = 'empty') => parseAssignments('params', text, {}, 'fw', undefinedNames).values;

describe('params and shorewall.conf follow the shell', () => {
  it('single quotes are literal, double quotes expand', () => {
    expect(values("A=x\nB='$A ${A}'\nC=\"$A ${A}b\"\n")).toMatchObject({ B: '$A ${A}', C: 'x xb' });
  });

  it('escapes: \\$ and \\" inside double quotes, any character unquoted', () => {
    expect(values('A="a\\$b\\"c"\nB=a\\ b\n')).toMatchObject({ A: 'a$b"c', B: 'a b' });
  });

  it('words concatenate and a comment may follow', () => {
    expect(values("A=a'b c'\"d\"   # note\nexport B=1\n")).toMatchObject({ A: 'ab cd', B: '1' });
  });

  it('a backslash at the end of a line joins the next', () => {
    expect(values('A="one \\\ntwo"\n')).toMatchObject({ A: 'one two' });
  });

  it('an undefined name is empty in params, and in shorewall.conf when it looks like an option', () => {
    expect(values('A="$NOPE"\n')).toMatchObject({ A: '' });
    expect(values('A="$LOG_LEVEL"\n', 'options-empty')).toMatchObject({ A: '' });
    expect(() => values('A="$files"\n', 'options-empty')).toThrow(/parameter 'files' is not defined/);
  });

  it('a variable doubled line after line stops with the file, line and column, not a JavaScript error', () => {
    const text = 'A=x\n' + Array.from({ length: 30 }, () => 'A="$A$A"\n').join('');
    let error: unknown;
    try {
      values(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).format()).toMatch(/^params:22 column 6: the value grows past 1024 KiB here \(\$A adds 1048576 characters\)/);
  });

  it('command substitution and extra words are refused, with the column', () => {
    expect(() => values('A=$(hostname)\n')).toThrow(/not evaluated/);
    expect(() => values('A=`hostname`\n')).toThrow(/shell command/);
    expect(() => values('A=a b\n')).toThrow(/'b' follows the value/);
  });
});

const BASE: ShorewallFiles = {
  zones: 'fw firewall\nloc ipv4\nnet ipv4\n',
  interfaces: '?FORMAT 2\nloc eth0 -\nnet eth1 -\n',
  policy: 'loc net ACCEPT\nall all REJECT $LOG_LEVEL\n',
  rules: '',
  'shorewall.conf': 'LOG_LEVEL="info"\nRCP_COMMAND=\'scp ${files} ${root}@${system}:${destination}\'\n',
};

describe('other files', () => {
  it('see shorewall.conf options as variables ($LOG_LEVEL in policy)', () => {
    const c = parseShorewall(BASE, { family: 4, dir: '/t' });
    expect(c.policies[1]!.log).toBe('info');
    expect(c.settings.raw['RCP_COMMAND']).toBe('scp ${files} ${root}@${system}:${destination}');
  });

  it("continuation lines: blanks after ',' or ':' go, as Shorewall joins them", () => {
    const c = parseShorewall({ ...BASE, snat: '?FORMAT 2\nMASQUERADE\t10.0.0.0/8,\\\n\t\t172.16.0.0/12\teth1\n' }, { family: 4, dir: '/t' });
    expect(c.snat[0]!.source!.items).toHaveLength(2);
  });

  it('Invalid(DROP), an interface with ignore', () => {
    const c = parseShorewall({ ...BASE, interfaces: '?FORMAT 2\nloc eth0 -\nnet eth1 -\n- lo ignore\n', rules: 'Invalid(DROP) net all tcp\n' }, { family: 4, dir: '/t' });
    expect(c.rules[0]).toMatchObject({ action: 'DROP', condition: 'invalid', proto: 'tcp' });
    expect(c.interfaces.map((i) => i.name)).toEqual(['eth0', 'eth1']);
  });
});
