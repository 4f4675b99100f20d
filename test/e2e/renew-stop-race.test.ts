/**
 * `gatehouse renew-time-windows` decides from the running plan before its firewall-adjust
 * runs; an administrator's `gatehouse stop` (systemctl stop gatehouse-firewall) in the
 * seconds the event runs (it takes the plan lock only, not the event lock) must not be
 * undone by the renewal's apply, which therefore applies only onto the plan it decided on
 * (checked under the plan lock). A custom action of the event, run after compile and
 * before apply, stands for that stop here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, closeLabRoot, expectVerdicts, openLabRoot } from './harness.js';
import { projectDir } from '../templates/build.js';
import { runningPlanDir } from '../../src/plan/index.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

describe.skipIf(why)('renew-time-windows and a stop during its event', () => {
  let lab: Lab;
  let gh: E2eRoot;
  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot({ routePrivate: true }));
  });
  afterAll(() => closeLabRoot({ lab, gh }));

  it('a firewall stopped while the renewal runs stays stopped (the renewal would start it)', async () => {
    await gh.db('configuration', 'set', 'TimeZone', 'Europe/Rome');
    await gh.db('fwtimes', 'set', 'everyday', 'time', 'WeekDays', 'Mon,Tue,Wed,Thu,Fri,Sat,Sun');
    await gh.db('fwrules', 'set', '90', 'rule', 'Src', 'role;green', 'Dst', 'role;red', 'Service', '8080', 'Action', 'drop', 'Time', 'time;everyday', 'Position', '10');
    await gh.adjust();
    // The running plan's windows ran out (the clock cannot be moved here).
    const current = (await runningPlanDir(gh.root))!;
    const manifest = JSON.parse(readFileSync(join(current, 'plan.json'), 'utf8')) as { inputs: { timeWindows: Record<string, string> } };
    manifest.inputs.timeWindows['holdsUntil'] = new Date(Date.now() - 86_400_000).toISOString();
    writeFileSync(join(current, 'plan.json'), JSON.stringify(manifest));

    // The administrator stops the firewall while the renewal's event is between compile and apply.
    const dir = join(gh.root, 'etc/gatehouse/events/firewall-gateway-save');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const action = join(dir, 'S85stop');
    writeFileSync(action, `#!/bin/sh\nexec "${process.execPath}" "${join(projectDir, 'bin/gatehouse.js')}" stop --root "$GATEHOUSE_ROOT" --apply netns:${lab.ns.gw}\n`, { mode: 0o755 });
    try {
      const r = spawnSync(process.execPath, [join(projectDir, 'bin/gatehouse.js'), 'renew-time-windows', '--root', gh.root, '--apply', `netns:${lab.ns.gw}`], {
        encoding: 'utf8',
        env: { ...process.env, GATEHOUSE_ROOT: '', GATEHOUSE_APPLY: '' },
      });
      expect(r.stdout).toContain('ran out at');
      // The renewal fails, saying why; the timer's next run finds the firewall stopped and leaves it.
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('the firewall was stopped (gatehouse stop) while this apply was under way, which was meant for the plan running before: nothing applied, the firewall stays as it is');
      const now = (await runningPlanDir(gh.root))!;
      expect(existsSync(join(now, 'stopped.json')), `the renewal started a stopped firewall:\n${r.stdout}\n${r.stderr}`).toBe(true);
      await expectVerdicts(lab, [{ from: 'green', to: 'inet', proto: 'tcp', port: 80, verdict: 'dropped', why: 'stopped before the renewal applied: nothing is forwarded' }]);
    } finally {
      rmSync(action, { force: true });
    }
  }, 120_000);
});
