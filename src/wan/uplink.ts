/**
 * wan-uplink-update up|down PROVIDER: record the provider's state and re-apply routing
 * only (no firewall reload). On down, connections pinned to the provider (connection
 * mark) are forgotten, so their next packets start over through a live provider.
 * Idempotent: the same state twice changes nothing the second time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type ApplyMode, createKernelRunner } from '../apply/index.js';
import { planPaths } from '../plan/index.js';
import { type ProviderState } from '../compile/index.js';
import { PROVIDER_MARK_MASK as PROVIDER_MASK } from '../shorewall/index.js';
import { readDatabase } from '../db/index.js';
import { describeRouting, readRoutingSpec } from './apply.js';
import { applyRouting } from './root.js';
import { readProviderStates, writeProviderState } from './state.js';

export interface UplinkUpdate {
  root: string;
  mode: ApplyMode;
  provider: string;
  state: ProviderState;
  log: (line: string) => void;
}

export async function wanUplinkUpdate(u: UplinkUpdate): Promise<void> {
  const t0 = performance.now();
  // A dry run shows the routing the new state would give and records nothing.
  const dry = u.mode.kind === 'dry-run';
  const previous = dry ? (await readProviderStates(u.root))[u.provider]?.state : await writeProviderState(u.root, u.provider, u.state);
  const changed = previous !== u.state;
  u.log(`provider ${u.provider} ${dry ? 'would be' : 'is'} ${u.state}${changed ? (previous ? ` (was ${previous})` : '') : ' (no change)'}${dry ? ' (dry-run: the state is not recorded)' : ''}`);
  const planDir = planPaths(u.root).current;
  const spec = await readRoutingSpec(planDir);
  if (!spec) {
    u.log(dry ? 'no running plan with routing yet' : 'no running plan with routing yet: the state is kept for the next firewall-adjust');
    return;
  }
  const result = await applyRouting(u.root, u.mode, planDir, { [u.provider]: u.state });
  if (result) for (const line of describeRouting(result)) u.log(line);
  const provider = spec.providers.find((p) => p.name === u.provider);
  if (u.state === 'down' && provider && u.mode.kind !== 'dry-run') {
    const runner = createKernelRunner(u.mode);
    const mark = `0x${provider.mark.toString(16)}/0x${PROVIDER_MASK.toString(16)}`;
    try {
      await runner.run({ step: 'conntrack -D (connections pinned to the provider)', command: 'conntrack', args: ['-D', '-f', 'ipv4', '-m', mark] });
    } catch (e) {
      // conntrack exits 1 when nothing matched; a missing tool is worth a line.
      const text = e instanceof Error ? e.message : String(e);
      if (!/0 flow entries/.test(text)) u.log(`note: connections pinned to ${u.provider} were not flushed (${text.split('\n')[0]})`);
    }
  }
  if (changed && !dry) await notify(u);
  u.log(`wan-uplink-update ${u.state} ${u.provider} took ${(performance.now() - t0).toFixed(1)} ms`);
}

/** NotifyWan: a mail through the local sendmail, when one is installed; the log line is always written. */
async function notify(u: UplinkUpdate): Promise<void> {
  const configuration = await readDatabase(u.root, 'configuration');
  const props = configuration['firewall']?.props ?? {};
  if (props['NotifyWan'] !== 'enabled') return;
  const to = props['NotifyWanTo'] || 'root@localhost';
  const from = props['NotifyWanFrom'] || 'root@localhost';
  const body = `From: ${from}\nTo: ${to}\nSubject: WAN ${u.provider} is ${u.state}\n\nProvider ${u.provider} changed state to ${u.state.toUpperCase()} at ${new Date().toISOString()}.\n`;
  const sendmail = ['/usr/sbin/sendmail', '/usr/lib/sendmail'].find((p) => existsSync(p));
  if (!sendmail) {
    u.log(`NotifyWan: no sendmail installed, mail to ${to} not sent`);
    return;
  }
  await new Promise<void>((resolve) => {
    const child = spawn(sendmail, ['-t', '-f', from], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => resolve());
    child.on('close', (code) => {
      u.log(code === 0 ? `NotifyWan: mail sent to ${to}` : `NotifyWan: sendmail exited ${String(code)}`);
      resolve();
    });
    child.stdin.end(body);
  });
}
