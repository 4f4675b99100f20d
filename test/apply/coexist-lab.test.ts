/**
 * Gatehouse owns its chains, not whole tables: Docker's chains and rules (made as dockerd
 * makes them, test/apply/docker.ts) survive every apply, a one-chain change, a failed apply
 * and its rollback, and `gatehouse stop`; status does not call them drift; Gatehouse's
 * hooks come first in the built-in chains, so its verdicts come before Docker's.
 */
import { execa } from 'execa';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApplyMode, applyPlan, firewallStatus, stopFirewall } from '../../src/apply/index.js';
import { type Agent, type Lab, createLab, labUnavailableReason, startAgent } from '../lab/lab.js';
import { CONTAINER, DOCKERD_RESTART, addDocker, containerProbes, dockerLines, removeDocker, runIptables } from './docker.js';
import { gatewayPlan, temporaryRoot, writePlanFiles } from './plans.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const BAD_RULE = '-A INPUT -m no-such-match-module -j ACCEPT';

describe.skipIf(why)('Docker’s chains and rules survive Gatehouse (hand-written plans, lab gateway)', () => {
  let lab: Lab;
  let mode: ApplyMode;
  let root: string;
  let container: Agent;
  let inet: Agent;
  let docker: string[];

  const save = async (family: 4 | 6 = 4) => (await execa('ip', ['netns', 'exec', lab.ns.gw, family === 4 ? 'iptables-save' : 'ip6tables-save'])).stdout;
  const { containerToInet, inetToPublished } = containerProbes(() => ({ container, inet }));

  beforeAll(async () => {
    lab = await createLab();
    mode = { kind: 'netns', name: lab.ns.gw };
    root = await temporaryRoot();
    const ns = await addDocker(lab);
    [container, inet] = await Promise.all([startAgent(ns), startAgent(lab.ns.inet)]);
    docker = dockerLines(await save());
    expect(docker).toContain('filter: -A FORWARD -j DOCKER-USER');
  });
  afterAll(async () => {
    container?.child.kill('SIGKILL');
    inet?.child.kill('SIGKILL');
    if (lab) await removeDocker(lab);
    await lab?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('an apply keeps every Docker chain and rule, puts Gatehouse’s hooks first, and status matches', async () => {
    await applyPlan(root, { mode, planDir: await writePlanFiles(join(root, 'one'), gatewayPlan()) });
    const after = await save();
    expect(dockerLines(after)).toEqual(docker);
    const forward = after.split('\n').filter((l) => l.startsWith('-A FORWARD '));
    expect(forward[0]).toBe('-A FORWARD -j gatehouse-FORWARD');
    expect(after).toMatch(/^-A PREROUTING -j gatehouse-PREROUTING\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER$/m);
    expect(after).toMatch(/^:FORWARD DROP/m);
    const status = await firewallStatus(root);
    expect(status.differences).toEqual({ ipsets: [], 'filter.v4': [], 'filter.v6': [], sysctls: [] });
    expect(status.kernel).toBe('matches');
  });

  it('verdicts: Gatehouse decides its zones first; what it leaves undecided meets Docker’s rules', async () => {
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
    expect(await lab.probe('blue', 'green', 'tcp', 22)).toBe('dropped');
    // Gatehouse's port forward and Docker's published port, side by side in nat PREROUTING.
    expect(await lab.probe('inet', 'orange', 'tcp', 8080, { address: '203.0.113.2', listenPort: 80 })).toBe('accepted');
    expect(await containerToInet()).toBe('accepted');
    expect(await inetToPublished()).toBe('accepted');
  });

  it('a change of one chain rewrites that chain only and keeps Docker’s rules', async () => {
    /** Packets counted by gatehouse-FORWARD's established rule: a rewrite of the chain would reset it. */
    const established = async () => {
      const listing = await lab.exec('gw', 'iptables', ['-L', 'gatehouse-FORWARD', '-v', '-x', '-n']);
      return Number(listing.split('\n').find((l) => /RELATED,ESTABLISHED|ESTABLISHED,RELATED/.test(l))!.trim().split(/\s+/)[0]);
    };
    const counted = await established();
    expect(counted).toBeGreaterThan(0);
    const before = await save();
    await applyPlan(root, { mode, planDir: await writePlanFiles(join(root, 'two'), gatewayPlan({ greenToOrangeWeb: 'REJECT' })) });
    const after = await save();
    expect(dockerLines(after)).toEqual(docker);
    const chain = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`-A ${name} `));
    expect(chain(after, 'green2orange')).not.toEqual(chain(before, 'green2orange'));
    expect(chain(after, 'gatehouse-FORWARD')).toEqual(chain(before, 'gatehouse-FORWARD'));
    expect(await established()).toBeGreaterThanOrEqual(counted);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('rejected');
    expect((await firewallStatus(root)).kernel).toBe('matches');
  });

  it('a failed apply rolls back to the previous plan and keeps Docker’s rules', async () => {
    const next = await writePlanFiles(join(root, 'bad'), gatewayPlan({ greenToOrangeWeb: 'ACCEPT', extraV4Rule: BAD_RULE }));
    await expect(applyPlan(root, { mode, planDir: next })).rejects.toThrow(/the previous plan is back in force/);
    expect(dockerLines(await save())).toEqual(docker);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('rejected');
    expect((await firewallStatus(root)).kernel).toBe('matches');
  });

  it('Docker restarting puts its jumps above Gatehouse’s: status says so, the next apply puts Gatehouse first again', async () => {
    await runIptables(lab.ns.gw, DOCKERD_RESTART);
    const status = await firewallStatus(root);
    expect(status.differences['filter.v4']).toEqual([
      "+ FORWARD: 2 rule(s) of other tools before Gatehouse's (first: -A FORWARD -j DOCKER-USER)",
    ]);
    await applyPlan(root, { mode, planDir: join(root, 'two') });
    expect((await save()).split('\n').find((l) => l.startsWith('-A FORWARD '))).toBe('-A FORWARD -j gatehouse-FORWARD');
    expect(dockerLines(await save())).toEqual(docker);
    expect((await firewallStatus(root)).kernel).toBe('matches');
  });

  it('stop keeps Docker’s rules and removes every chain of Gatehouse’s but the stopped ones', async () => {
    await stopFirewall(root, { mode });
    const stopped = await save();
    expect(dockerLines(stopped)).toEqual(docker);
    expect(stopped).not.toMatch(/green2orange|gatehouse-PREROUTING|gatehouse-POSTROUTING/);
    expect(stopped).toMatch(/^-A INPUT -j gatehouse-INPUT$/m);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('dropped');
    expect((await firewallStatus(root)).kernel).toBe('matches');
    // Starting again from stopped rewrites every chain, and Docker's rules are still there.
    await applyPlan(root, { mode, planDir: join(root, 'one') });
    expect(dockerLines(await save())).toEqual(docker);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
    expect(await inetToPublished()).toBe('accepted');
  });

  it('upgrading from a Gatehouse that restored whole tables: its rules right in the built-in chains go', async () => {
    await lab.exec('gw', 'iptables-restore', [], gatewayPlan()['rules.v4']);
    expect(await save()).toMatch(/^-A FORWARD -i green0 -o orange0 -j green2orange$/m);
    await applyPlan(root, { mode, planDir: join(root, 'one') });
    const after = await save();
    expect(after).not.toMatch(/^-A (FORWARD|INPUT|PREROUTING|POSTROUTING) -[^j]/m);
    expect(after).toMatch(/^-A FORWARD -j gatehouse-FORWARD$/m);
    expect((await firewallStatus(root)).kernel).toBe('matches');
  });

  it('IPv6: Gatehouse’s chains only; nothing of another family or tool is touched', async () => {
    const six = await save(6);
    expect(six).toMatch(/^-A FORWARD -j gatehouse-FORWARD$/m);
    expect(six).toMatch(/^:gatehouse-state-[0-9a-f]{12} - /m);
  });
});
