/**
 * The kernel side of the proof: every golden plan is loaded into a throwaway network
 * namespace (ipset restore, then iptables-restore / ip6tables-restore), and every
 * golden input directory is accepted by real Shorewall (`shorewall check`) there.
 */
import { describe, expect, it } from 'vitest';
import { compileScenario, scenarios } from './scenarios.js';
import { inNetns, whyNoNetns, withNetns } from './netns.js';

const noKernel = whyNoNetns(['iptables-restore', 'ip6tables-restore', 'ipset']);
if (noKernel) console.warn(`skipped kernel tests: ${noKernel}`);
const noShorewall = noKernel ?? whyNoNetns(['shorewall']);
if (noShorewall && !noKernel) console.warn(`skipped shorewall check: ${noShorewall}`);
const noShorewall6 = noKernel ?? whyNoNetns(['shorewall6']);

/** Sets the rules name but the plan does not define (external blocklists) must exist for a restore. */
function externalSetLines(rules: string, defined: string, family: 4 | 6): string {
  const names = new Set([...rules.matchAll(/--match-set (\S+)/g)].map((m) => m[1] ?? ''));
  const own = new Set([...defined.matchAll(/^create (\S+)/gm)].map((m) => m[1] ?? ''));
  return [...names]
    .filter((n) => !own.has(n))
    .map((n) => `create ${n} hash:net family ${family === 4 ? 'inet' : 'inet6'}\n`)
    .join('');
}

describe.each(scenarios())('scenario $name in the kernel', (s) => {
  it.skipIf(noKernel)('loads ipsets, rules and stopped rules into a namespace for both families', async () => {
    const { files } = await compileScenario(s);
    withNetns((ns) => {
      const sets = files['ipsets'] ?? '';
      const external = externalSetLines(files['rules.v4'] ?? '', sets, 4) + externalSetLines(files['rules.v6'] ?? '', sets, 6);
      const ipset = inNetns(ns, ['ipset', 'restore'], external + sets.replace(/^#.*\n/gm, ''));
      expect(ipset.output).toBe('');
      expect(ipset.status).toBe(0);
      for (const [tool, name] of [
        ['iptables-restore', 'rules.v4'],
        ['ip6tables-restore', 'rules.v6'],
        ['iptables-restore', 'stopped.v4'],
        ['ip6tables-restore', 'stopped.v6'],
      ] as const) {
        const test = inNetns(ns, [tool, '--test'], files[name]);
        expect(test.output, `${tool} --test ${name}`).toBe('');
        expect(test.status, `${tool} --test ${name}`).toBe(0);
        const load = inNetns(ns, [tool], files[name]);
        expect(load.status, `${tool} ${name}: ${load.output}`).toBe(0);
      }
    });
  });

  it.skipIf(noShorewall)('is accepted by shorewall check', () => {
    withNetns((ns) => {
      const r = inNetns(ns, ['shorewall', 'check', s.input]);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain('Shorewall configuration verified');
    });
  });

  const input6 = s.input6;
  if (input6 !== undefined) {
    it.skipIf(noShorewall6)('is accepted by shorewall6 check (IPv6 files)', () => {
      withNetns((ns) => {
        const r = inNetns(ns, ['shorewall6', 'check', input6]);
        expect(r.status, r.output).toBe(0);
        expect(r.output).toContain('Shorewall6 configuration verified');
      });
    });
  }
});
