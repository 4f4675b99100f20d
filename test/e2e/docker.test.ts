/**
 * Docker on the gateway (its bridge, a container and dockerd's rules, test/apply/docker.ts)
 * through db and signal-event: without the integration Gatehouse decides forwarded traffic
 * first (the containers' included) and Docker's chains still survive; with `configuration
 * firewall Docker=enabled` Gatehouse filters from DOCKER-USER and leaves what it does not
 * decide on Docker's bridges to Docker, so containers and published ports work; a restart
 * of dockerd is not drift; rollback and stop keep Docker's chains.
 */
import { execa } from 'execa';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan, firewallStatus } from '../../src/apply/index.js';
import { planPaths } from '../../src/plan/index.js';
import { type Agent, type Lab, labUnavailableReason, startAgent } from '../lab/lab.js';
import { CONTAINER, DOCKERD_RESTART, addDocker, containerProbes, dockerLines, removeDocker, runIptables } from '../apply/docker.js';
import { type E2eRoot, closeLabRoot, openLabRoot } from './harness.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

describe.skipIf(why)('Docker on the gateway, through db and signal-event', () => {
  let lab: Lab;
  let gh: E2eRoot;
  let container: Agent;
  let inet: Agent;
  let docker: string[];

  const save = async () => (await execa('ip', ['netns', 'exec', lab.ns.gw, 'iptables-save'])).stdout;
  const { containerToInet, inetToPublished } = containerProbes(() => ({ container, inet }));

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot());
    const ns = await addDocker(lab);
    [container, inet] = await Promise.all([startAgent(ns), startAgent(lab.ns.inet)]);
    docker = dockerLines(await save());
  });
  afterAll(async () => {
    container?.child.kill('SIGKILL');
    inet?.child.kill('SIGKILL');
    if (lab) await removeDocker(lab);
    await closeLabRoot({ lab, gh });
  });

  it('without the integration: Docker’s chains survive, and Gatehouse decides the containers’ forwarded traffic first', async () => {
    await gh.adjust();
    expect(dockerLines(await save())).toEqual(docker);
    expect(await lab.probe('green', 'inet', 'tcp', 80)).toBe('accepted');
    expect(await containerToInet()).not.toBe('accepted');
    expect(await inetToPublished()).not.toBe('accepted');
    expect((await firewallStatus(gh.root)).kernel).toBe('matches');
  });

  it('Docker=enabled: forward filtering from DOCKER-USER; containers reach out, published ports answer, zones keep their verdicts', async () => {
    await gh.db('configuration', 'setprop', 'firewall', 'Docker', 'enabled');
    await gh.adjust();
    const whole = await save();
    expect(dockerLines(whole)).toEqual(docker);
    const after = whole.slice(whole.indexOf('*filter'));
    expect(after.split('\n').filter((l) => l.startsWith('-A FORWARD '))[0]).toBe('-A FORWARD -j DOCKER-USER');
    expect(after).not.toMatch(/-A FORWARD -j gatehouse-FORWARD/);
    expect(after.split('\n').filter((l) => l.startsWith('-A DOCKER-USER '))).toEqual(['-A DOCKER-USER -j gatehouse-DOCKER-USER', '-A DOCKER-USER -j RETURN']);
    expect(await containerToInet()).toBe('accepted');
    expect(await inetToPublished()).toBe('accepted');
    expect(await lab.probe('green', 'inet', 'tcp', 80)).toBe('accepted');
    expect(await lab.probe('blue', 'green', 'tcp', 80)).toBe('rejected');
    expect((await firewallStatus(gh.root)).kernel).toBe('matches');
  });

  it('dockerd restarting (its jumps back at the top of FORWARD) is not drift with the integration', async () => {
    await runIptables(lab.ns.gw, DOCKERD_RESTART);
    const status = await firewallStatus(gh.root);
    expect(status.differences['filter.v4']).toEqual([]);
    expect(status.kernel).toBe('matches');
    expect(await containerToInet()).toBe('accepted');
  });

  it('another tool’s accept above the jump to DOCKER-USER is drift, and firewall-adjust puts the jump first again', async () => {
    await runIptables(lab.ns.gw, [['-I', 'FORWARD', '1', '-i', 'blue0', '-j', 'ACCEPT']]);
    const drift = await firewallStatus(gh.root);
    expect(drift.kernel).not.toBe('matches');
    expect(drift.differences['filter.v4']!.join('\n')).toContain("FORWARD: 1 rule(s) of other tools before Gatehouse's (first: -A FORWARD -i blue0 -j ACCEPT)");
    // The plan did not change, so this is the cheap path: the change of nothing, then the jumps first.
    await gh.adjust();
    const saved = await save();
    const forward = saved.slice(saved.indexOf('*filter')).split('\n').filter((l) => l.startsWith('-A FORWARD '));
    expect(forward[0]).toBe('-A FORWARD -j DOCKER-USER');
    expect(forward, 'the other tool’s rule stays (it is not Gatehouse’s), below').toContain('-A FORWARD -i blue0 -j ACCEPT');
    expect(await lab.probe('blue', 'green', 'tcp', 80), 'false accept: a rule above the jump to DOCKER-USER decided before Gatehouse').toBe('rejected');
    expect((await firewallStatus(gh.root)).kernel).toBe('matches');
    await runIptables(lab.ns.gw, [['-D', 'FORWARD', '-i', 'blue0', '-j', 'ACCEPT']]);
  });

  it('a failed apply rolls back and keeps Docker’s chains', async () => {
    const bad = join(gh.root, 'bad-plan');
    await mkdir(bad);
    const current = planPaths(gh.root).current;
    for (const f of await readdir(current)) {
      if (!/^(rules|stopped)\.v[46]$|^ipsets$|^runtime-ipsets$|^sysctl\.conf$/.test(f)) continue;
      const text = await readFile(join(current, f), 'utf8');
      await writeFile(join(bad, f), f === 'rules.v4' ? text.replace(/COMMIT\n$/, '-A INPUT -m no-such-match-module -j ACCEPT\nCOMMIT\n') : text);
    }
    await expect(applyPlan(gh.root, { mode: { kind: 'netns', name: lab.ns.gw }, planDir: bad })).rejects.toThrow(/the previous plan is back in force/);
    expect(dockerLines(await save())).toEqual(docker);
    expect(await containerToInet()).toBe('accepted');
    expect((await firewallStatus(gh.root)).kernel).toBe('matches');
  });

  it('gatehouse stop keeps Docker’s chains and takes Gatehouse’s port forwards and zone rules away', async () => {
    const stop = await gh.gatehouse(['stop', '--apply', `netns:${lab.ns.gw}`]);
    expect(stop.code, stop.stderr).toBe(0);
    const stopped = await save();
    expect(dockerLines(stopped)).toEqual(docker);
    expect(stopped).not.toMatch(/gatehouse-DOCKER-USER|gatehouse-PREROUTING/);
    expect(await lab.probe('green', 'inet', 'tcp', 80)).toBe('dropped');
    // Docker's own accepts follow Gatehouse's hook in FORWARD: the stopped state must not leave
    // the decision to them (a false accept of a stopped, "closed" firewall otherwise).
    expect(await containerToInet(), 'false accept: a container got out through the stopped firewall').not.toBe('accepted');
    expect(await inetToPublished(), 'false accept: a published port answered through the stopped firewall').not.toBe('accepted');
    expect((await firewallStatus(gh.root)).kernel).toBe('matches');
  });
});
