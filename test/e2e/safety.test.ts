/**
 * Custom fragments, and the safety net: a broken fragment fails firewall-adjust before
 * anything reaches the kernel, and an unconfirmed apply puts the previous ruleset back.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimePaths } from '../../src/layout/index.js';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, type Expectation, expectVerdicts, closeLabRoot, openLabRoot } from './harness.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

describe.skipIf(why)('custom fragments and the safety net, through db and signal-event, in the lab', () => {
  let lab: Lab;
  let gh: E2eRoot;
  let customRules: string;

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot());
    customRules = join(runtimePaths(gh.root).templatesCustom, 'etc/shorewall/rules');
    await mkdir(customRules, { recursive: true });
  });
  afterAll(() => closeLabRoot({ lab, gh }));

  const web: Expectation = { from: 'green', to: 'orange', proto: 'tcp', port: 8090, verdict: 'accepted', why: 'green -> orange policy' };

  it('a custom fragment in templates-custom takes effect at the next firewall-adjust', async () => {
    await gh.adjust();
    await expectVerdicts(lab, [web]);
    await writeFile(join(customRules, '65local'), '?COMMENT local: no port 8090 to the DMZ\nDROP\tloc\torang\ttcp\t8090\n?COMMENT\n');
    await gh.adjust();
    await expectVerdicts(lab, [
      { ...web, verdict: 'dropped', why: 'custom fragment 65local drops it' },
      { ...web, port: 8091, why: 'the fragment names only 8090' },
    ]);
  });

  it('a broken custom fragment fails firewall-adjust, names the line, and leaves the running ruleset in force', async () => {
    await writeFile(join(customRules, '66broken'), 'ACCEPT\tloc\tnowhere\ttcp\t8091\n');
    await gh.db('configuration', 'setprop', 'firewall', 'Policy', 'strict');
    const run = await gh.signal('firewall-adjust');
    expect(run.code, 'firewall-adjust must fail').not.toBe(0);
    expect(run.stderr).toMatch(/rules:\d+.*nowhere/);
    expect(run.stderr).toMatch(/S80compile/);
    await expectVerdicts(lab, [
      { ...web, verdict: 'dropped', why: 'the previous ruleset (with 65local) is still in force' },
      { ...web, port: 8091, why: 'the previous ruleset is still in force' },
      { from: 'green', to: 'inet', proto: 'tcp', port: 80, verdict: 'accepted', why: 'strict policy was not applied: the event stopped at compile' },
    ]);
    await rm(join(customRules, '66broken'));
    await gh.db('configuration', 'setprop', 'firewall', 'Policy', 'permissive');
  });

  it('an apply not confirmed in time restores the previous ruleset', async () => {
    await gh.adjust();
    await expectVerdicts(lab, [{ ...web, port: 8091 }]);
    await gh.db('fwrules', 'set', '1', 'rule', 'Position', '10', 'Src', 'role;green', 'Dst', 'role;orange', 'Service', '8091', 'Action', 'reject');
    // Compile only (dry-run), then apply with a confirmation nobody gives.
    const compiled = await gh.signal('firewall-adjust', { apply: 'dry-run' });
    expect(compiled.code, compiled.stderr).toBe(0);
    const run = await gh.gatehouse(['apply', '--apply', `netns:${lab.ns.gw}`, '--confirm', '1']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/not confirmed within 1s: the previous plan is back in force/);
    await expectVerdicts(lab, [{ ...web, port: 8091, why: 'the unconfirmed REJECT rule was rolled back' }]);
  });
});
