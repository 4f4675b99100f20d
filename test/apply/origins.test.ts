/**
 * Origins of compiled rules: each rule compiled from a line knows its file, line and the
 * database record the fragment wrote it from; a line the kernel refuses (fake runner here,
 * the kernel in refusal-lab.test.ts) is reported with that origin, whatever the shape of
 * the restore script around it.
 */
import { describe, expect, it } from 'vitest';
import { describeRefusedLine, explainingRefusals } from '../../src/apply/index.js';
import { compile, recordOfComment } from '../../src/compile/index.js';
import { GatehouseError } from '../../src/errors/index.js';
import { commentText } from '../../src/model/text.js';
import { type KernelCommand, type KernelRunner, type PlanOrigins, findOrigins } from '../../src/plan/index.js';
import { parseShorewall, type ShorewallFiles } from '../../src/shorewall/index.js';

const FILES: ShorewallFiles = {
  zones: 'fw firewall\nloc ipv4\nnet ipv4\n',
  interfaces: '?FORMAT 2\nloc eth0\nnet eth1 dhcp\n',
  policy: 'loc net ACCEPT\n$FW all ACCEPT\nnet all DROP\nall all REJECT\n',
  rules: [
    '?COMMENT RULE 17 web for the office',
    'ACCEPT loc net tcp 80,443',
    '?COMMENT',
    'DROP net:+blocked $FW',
    '?COMMENT service sshd',
    'ACCEPT loc $FW tcp 22',
    '?COMMENT',
  ].join('\n') + '\n',
};

function compiled() {
  return compile(parseShorewall(FILES, { family: 4, dir: '/etc/shorewall' }), undefined);
}

/** A runner that refuses its input at the line holding `needle`, as iptables-restore (nf_tables) words it. */
function refusingRunner(needle: string, words: (n: number) => string): KernelRunner & { seen: KernelCommand[] } {
  const seen: KernelCommand[] = [];
  return {
    mode: { kind: 'netns', name: 'fake' },
    seen,
    async preflight() {},
    async run(command) {
      seen.push(command);
      const n = (command.input ?? '').split('\n').findIndex((l) => l.includes(needle));
      if (n >= 0) throw new GatehouseError(`${command.step} failed in netns:fake: ${words(n + 1)}`);
      return '';
    },
  };
}

describe('origins of compiled rules', () => {
  it('every rule written from a line carries its file, line and record', () => {
    const plan = compiled();
    const o = plan.origins!;
    const web = o.v4.filter((l) => l.rule.includes('--dports 80,443'));
    expect(web.map((l) => [l.table, l.file, l.line, l.record])).toEqual([['filter', '/etc/shorewall/rules', 2, 'fwrules/17']]);
    expect(o.v4.find((l) => l.rule.includes('--dport 22'))).toMatchObject({ file: '/etc/shorewall/rules', line: 6, record: 'configuration/sshd' });
    expect(o.v4.find((l) => l.rule.includes('blocked'))).toMatchObject({ line: 4 });
    expect(o.v4.find((l) => l.rule.includes('blocked'))?.record).toBeUndefined();
    // Policies too; the compiler's own rules (state, interface dispatch) have none.
    expect(o.v4.find((l) => l.rule === '-A net-fw -j DROP')).toMatchObject({ file: '/etc/shorewall/policy', line: 3 });
    expect(o.v4.some((l) => l.rule.includes('--ctstate'))).toBe(false);
    // Both families, and every rule text is a line of the ruleset as emitted.
    expect(o.v6.find((l) => l.rule.includes('--dport 22'))?.record).toBe('configuration/sshd');
    for (const l of o.v4) expect(plan.rulesV4.split('\n')).toContain(l.rule);
  });

  it('the record is read from the comments the model writes', () => {
    expect(recordOfComment(commentText('RULE#17 web for the office'))).toBe('fwrules/17');
    expect(recordOfComment(commentText('PF#3 public web site from lan'))).toBe('portforward/3');
    expect(recordOfComment(commentText('service httpd-admin'))).toBe('configuration/httpd-admin');
    expect(recordOfComment(commentText('SNAT eth0:1'))).toBe('networks/eth0:1');
    expect(recordOfComment('a connection keeps its class')).toBeUndefined();
    expect(recordOfComment(undefined)).toBeUndefined();
  });

  it('a rule the kernel refuses is reported with its origin (fake runner)', async () => {
    const plan = compiled();
    const input = plan.rulesV4;
    const runner = explainingRefusals(
      refusingRunner('--dports 80,443', (n) => `iptables-restore v1.8.9 (nf_tables): Couldn't load match multiport / Error occurred at line: ${n}`),
      plan.origins,
    );
    const error = await runner.run({ step: 'iptables-restore (rules.v4)', command: 'iptables-restore', args: [], input, inputName: 'rules.v4' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as Error).message).toMatch(/Error occurred at line: \d+; line \d+ of rules\.v4, `-A loc-net -p tcp -m multiport --dports 80,443 .*-j ACCEPT`, comes from \/etc\/shorewall\/rules:2 \(fwrules\/17\)$/);
  });

  it('the line is found by its text, whatever script surrounds it (legacy wording, other chain heads)', () => {
    const plan = compiled();
    const rule = plan.origins!.v4.find((l) => l.record === 'fwrules/17')!.rule;
    // A --noflush script that flushes its own chains first and inserts rather than appends.
    const script = ['*filter', '-F loc-net', rule.replace(/^-A loc-net/, '-I loc-net 1'), 'COMMIT', ''].join('\n');
    const said = describeRefusedLine('iptables-restore: line 3 failed', { step: 's', command: 'iptables-restore', args: ['--noflush'], input: script, inputName: 'the filter script' }, plan.origins);
    expect(said).toContain('comes from /etc/shorewall/rules:2 (fwrules/17)');
    const commit = describeRefusedLine('Error occurred at line: 4', { step: 's', command: 'iptables-restore', args: [], input: script }, plan.origins);
    expect(commit).toMatch(/COMMIT of table filter: the kernel refused that table as a whole/);
  });

  it('an ipset line is reported with the rules that use the set', () => {
    const origins: PlanOrigins = {
      v4: [{ table: 'filter', rule: '-A net-fw -m set --match-set blocked src -j DROP', file: '/etc/shorewall/rules', line: 4, record: 'fwrules/9' }],
      v6: [],
    };
    const said = describeRefusedLine('ipset v7.17: Error in line 2: Syntax error', { step: 's', command: 'ipset', args: ['restore'], input: 'create blocked hash:ip\nadd blocked 1.2.3.400\n' }, origins);
    expect(said).toBe('line 2 of the input, `add blocked 1.2.3.400`, is of set blocked, used by /etc/shorewall/rules:4 (fwrules/9)');
    expect(findOrigins(origins, 4, '-A other -m set --match-set blocked src -j DROP')).toHaveLength(1);
  });

  it('a refusal that names no line is passed on unchanged', async () => {
    const plan = compiled();
    const original = new GatehouseError('ip netns exec: Cannot open network namespace');
    const runner = explainingRefusals({ mode: { kind: 'host' }, preflight: async () => {}, run: async () => Promise.reject(original) }, plan.origins);
    await expect(runner.run({ step: 's', command: 'iptables-restore', args: [], input: plan.rulesV4 })).rejects.toBe(original);
  });
});
