/**
 * The sysctl step of a load, with a recording runner: the current values are read beside
 * the restores, and the write after them happens only when something would change.
 */
import { describe, expect, it } from 'vitest';
import { runParts } from '../../src/apply/index.js';
import { type KernelCommand, type KernelRunner, parsePlan } from '../../src/plan/index.js';
import { gatewayPlan } from './plans.js';

function recordingRunner(currentValues: string | Error): { runner: KernelRunner; commands: string[] } {
  const commands: string[] = [];
  const runner: KernelRunner = {
    mode: { kind: 'netns', name: 'gh-test-unused' },
    async preflight() {},
    async run(c: KernelCommand) {
      commands.push([c.command, ...c.args].join(' '));
      if (c.command === 'sysctl' && c.args[0] === '-n') {
        if (currentValues instanceof Error) throw currentValues;
        return currentValues;
      }
      if (c.command === 'ipset' && c.args[0] === 'list') return '';
      return '';
    },
  };
  return { runner, commands };
}

const plan = parsePlan('/plan', gatewayPlan());
const WRITE = 'sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1';

describe('sysctls of a load', () => {
  it('are not written again when the kernel already has every value', async () => {
    const { runner, commands } = recordingRunner('1\n1\n');
    await runParts(runner, plan);
    expect(commands).toContain('sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding');
    expect(commands).not.toContain(WRITE);
  });

  it('are written after both restores when one value differs', async () => {
    const { runner, commands } = recordingRunner('0\n1\n');
    await runParts(runner, plan);
    const write = commands.indexOf(WRITE);
    expect(write).toBeGreaterThan(commands.indexOf('iptables-restore'));
    expect(write).toBeGreaterThan(commands.indexOf('ip6tables-restore'));
  });

  it('are written when the current values cannot be read', async () => {
    const { runner, commands } = recordingRunner(new Error('sysctl: permission denied'));
    await runParts(runner, plan);
    expect(commands).toContain(WRITE);
  });
});
