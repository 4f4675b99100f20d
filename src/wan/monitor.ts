/**
 * The link monitor (`gatehouse wan-monitor`): every PingInterval seconds, one ping to
 * every CheckIP through every provider (from the provider's own address, so the
 * `from <address>` rule sends it out of that provider's interface and gateway, whether
 * the provider is up or down). A provider is up while any CheckIP answers through it.
 *
 * Per CheckIP, with N = MaxNumberPacketLoss and P = MaxPercentPacketLoss, as NethServer's
 * link monitor configures them:
 * - down after N losses in a row, or when P % or more of the last 2N probes were lost;
 * - back up only after N answers in a row and less than P % lost over the last 2N:
 *   a link that answers now and then does not flap back.
 * Every change fires `signal-event wan-uplink-update up|down PROVIDER`.
 */
import { spawn } from 'node:child_process';
import { type ApplyMode, createKernelRunner, pendingExpired, readPending } from '../apply/index.js';
import { planPaths } from '../plan/index.js';
import type { ProviderState, ProviderSpec } from '../compile/index.js';
import { readDatabase } from '../db/index.js';
import { GatehouseError } from '../errors/index.js';
import { signalEvent } from '../events/index.js';
import { readRoutingSpec } from './apply.js';
import { readProviderStates } from './state.js';

export interface MonitorSettings {
  checkIps: string[];
  intervalMs: number;
  maxLoss: number;
  maxPercent: number;
}

function numberProp(props: Record<string, string>, prop: string, fallback: number, min: number, max: number): number {
  const raw = props[prop];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new GatehouseError(`${prop} is '${raw}'`, { place: { db: 'configuration', key: 'firewall', prop }, hint: `use a number from ${min} to ${max}` });
  }
  return n;
}

export async function monitorSettings(root: string): Promise<MonitorSettings> {
  const props = (await readDatabase(root, 'configuration'))['firewall']?.props ?? {};
  const checkIps = (props['CheckIP'] || '8.8.8.8,208.67.222.222').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return {
    checkIps,
    intervalMs: numberProp(props, 'PingInterval', 5, 0.2, 3600) * 1000,
    maxLoss: Math.round(numberProp(props, 'MaxNumberPacketLoss', 10, 1, 100)),
    maxPercent: numberProp(props, 'MaxPercentPacketLoss', 50, 1, 100),
  };
}

/** One CheckIP seen through one provider. */
export class LinkTracker {
  private readonly recent: boolean[] = [];
  private lostInRow = 0;
  private answeredInRow = 0;

  constructor(
    private readonly settings: Pick<MonitorSettings, 'maxLoss' | 'maxPercent'>,
    public state: ProviderState,
  ) {}

  /** Records one probe; returns the state after it. */
  record(answered: boolean): ProviderState {
    this.recent.push(answered);
    if (this.recent.length > 2 * this.settings.maxLoss) this.recent.shift();
    if (answered) {
      this.answeredInRow++;
      this.lostInRow = 0;
    } else {
      this.lostInRow++;
      this.answeredInRow = 0;
    }
    const lostPercent = (100 * this.recent.filter((a) => !a).length) / this.recent.length;
    if (this.state === 'up') {
      const windowFull = this.recent.length >= 2 * this.settings.maxLoss;
      if (this.lostInRow >= this.settings.maxLoss || (windowFull && lostPercent >= this.settings.maxPercent)) this.state = 'down';
    } else if (this.answeredInRow >= this.settings.maxLoss && lostPercent < this.settings.maxPercent) {
      this.state = 'up';
    }
    return this.state;
  }
}

export interface ProbeResult {
  provider: string;
  checkIp: string;
  answered: boolean;
  rttMs?: number;
  source?: string;
}

export interface MonitorOptions {
  root: string;
  mode: ApplyMode;
  once: boolean;
  print: (line: string) => void;
  /** Stops the loop (SIGTERM / SIGINT in the CLI). */
  signal?: AbortSignal;
}

function execArgs(mode: ApplyMode, command: string, args: string[]): [string, string[]] {
  return mode.kind === 'netns' ? ['ip', ['netns', 'exec', mode.name, command, ...args]] : [command, args];
}

function run(mode: ApplyMode, command: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const [cmd, argv] = execArgs(mode, command, args);
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', () => resolve({ code: -1, out }));
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function providerAddresses(mode: ApplyMode): Promise<Record<string, string>> {
  const { out } = await run(mode, 'ip', ['-4', '-j', 'addr', 'show']);
  const first: Record<string, string> = {};
  try {
    for (const e of JSON.parse(out || '[]') as { ifname?: string; addr_info?: { local?: string; scope?: string }[] }[]) {
      const a = e.addr_info?.find((i) => i.local !== undefined && i.scope === 'global');
      if (e.ifname && a?.local) first[e.ifname] = a.local;
    }
  } catch {
    // No JSON: no addresses; every probe fails and says why.
  }
  return first;
}

async function probe(mode: ApplyMode, provider: ProviderSpec, source: string | undefined, checkIp: string, timeoutMs: number): Promise<ProbeResult> {
  if (source === undefined) return { provider: provider.name, checkIp, answered: false };
  // iputils ping takes a fractional -W; a reply later than this counts as lost.
  const wait = (timeoutMs / 1000).toFixed(1);
  const { code, out } = await run(mode, 'ping', ['-n', '-q', '-c', '1', '-W', wait, '-I', source, checkIp]);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(out);
  return { provider: provider.name, checkIp, answered: code === 0, source, ...(rtt ? { rttMs: Number(rtt[1]) } : {}) };
}

/** Runs interface-update in this process: the firewall (routing included) is adjusted to the interface's new address. */
async function fireInterfaceUpdate(root: string, mode: ApplyMode, print: (line: string) => void): Promise<boolean> {
  try {
    await signalEvent({ root, event: 'interface-update', args: [], applyMode: mode });
    return true;
  } catch (e) {
    print(`interface-update failed: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}

/** Runs wan-uplink-update in this process (no process start on the failover path). */
async function fire(root: string, mode: ApplyMode, state: ProviderState, provider: string, print: (line: string) => void): Promise<boolean> {
  try {
    await signalEvent({ root, event: 'wan-uplink-update', args: [state, provider], applyMode: mode });
    return true;
  } catch (e) {
    print(`wan-uplink-update ${state} ${provider} failed: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}

export async function runMonitor(o: MonitorOptions): Promise<void> {
  // Probes are real packets: a dry run has no target to send them from.
  if (o.mode.kind === 'dry-run') throw new GatehouseError('wan-monitor sends real probes and needs a target', { hint: 'use --apply netns:NAME or --apply host' });
  const spec = await readRoutingSpec(planPaths(o.root).current);
  const providers = spec?.providers ?? [];
  if (providers.length === 0) throw new GatehouseError('no providers in the running plan: nothing to monitor', { hint: 'create provider records in networks and run signal-event firewall-adjust' });
  const settings = await monitorSettings(o.root);
  if (settings.checkIps.length === 0) throw new GatehouseError('CheckIP is empty', { place: { db: 'configuration', key: 'firewall', prop: 'CheckIP' }, hint: 'list addresses to ping, e.g. 8.8.8.8,208.67.222.222' });
  await createKernelRunner(o.mode).preflight(['ip', 'ping']);
  const recorded = await readProviderStates(o.root);
  const state = new Map<string, ProviderState>(providers.map((p) => [p.name, recorded[p.name]?.state ?? 'up']));
  const trackers = new Map(providers.map((p) => [p.name, settings.checkIps.map(() => new LinkTracker(settings, state.get(p.name)!))]));
  // NethServer's 4 s (a saturated link answers late, not never), less when probes come faster.
  const timeoutMs = Math.min(4000, Math.max(200, settings.intervalMs * 0.8));

  if (o.once) {
    const sources = await providerAddresses(o.mode);
    for (const p of providers) {
      const results = await Promise.all(settings.checkIps.map((ip) => probe(o.mode, p, sources[p.interface], ip, timeoutMs)));
      const answered = results.filter((r) => r.answered);
      const seen = answered.length > 0 ? 'answering' : 'not answering';
      const detail = results.map((r) => `${r.checkIp} ${r.answered ? `${r.rttMs ?? '?'} ms` : 'lost'}`).join(', ');
      o.print(`${p.name}\t${p.interface}\t${state.get(p.name)!}\t${seen}\t(${sources[p.interface] ?? 'no address'}: ${detail})`);
    }
    return;
  }

  o.print(`wan-monitor: ${providers.map((p) => `${p.name} (${p.interface}) ${state.get(p.name)}`).join(', ')}; CheckIP ${settings.checkIps.join(',')} every ${settings.intervalMs / 1000}s, down after ${settings.maxLoss} lost or ${settings.maxPercent}% of the last ${2 * settings.maxLoss}`);
  // A red address that comes back (DHCP, PPPoE) or changes needs new source rules: the
  // provider was left out, or still routes from the old address, whatever its state.
  let known: Record<string, string> | undefined;
  let waitingSaid = false;
  while (!o.signal?.aborted) {
    const started = Date.now();
    const sources = await providerAddresses(o.mode);
    const moved = known === undefined ? [] : providers.filter((p) => sources[p.interface] !== undefined && sources[p.interface] !== known![p.interface]);
    const pending = moved.length > 0 ? await readPending(o.root) : undefined;
    // An expired one is settled (rolled back) by the event itself.
    if (moved.length > 0 && pending && !pendingExpired(pending)) {
      // An apply waits for its confirmation: events are refused until it ends, and compiling
      // one every round for nothing would only load the box. Tried again once it has ended.
      if (!waitingSaid) o.print(`${new Date().toISOString()} ${moved.map((p) => `${p.name} (${p.interface})`).join(', ')} changed address: interface-update waits for the pending confirmation of the apply of ${pending.source}`);
      waitingSaid = true;
    } else if (moved.length > 0) {
      waitingSaid = false;
      o.print(`${new Date().toISOString()} ${moved.map((p) => `${p.name} (${p.interface}) has address ${sources[p.interface]}`).join(', ')}: interface-update`);
      // Kept only once the firewall follows: a failed event is fired again next round.
      const seen = { ...sources };
      if (!(await fireInterfaceUpdate(o.root, o.mode, o.print))) {
        for (const p of moved) {
          const before = known![p.interface];
          if (before === undefined) delete seen[p.interface];
          else seen[p.interface] = before;
        }
      }
      known = seen;
    } else known = sources;
    await Promise.all(
      providers.map(async (p) => {
        const results = await Promise.all(settings.checkIps.map((ip) => probe(o.mode, p, sources[p.interface], ip, timeoutMs)));
        const perIp = results.map((r, i) => trackers.get(p.name)![i]!.record(r.answered));
        const now: ProviderState = perIp.some((s) => s === 'up') ? 'up' : 'down';
        if (now !== state.get(p.name)) {
          o.print(`${new Date().toISOString()} ${p.name} (${p.interface}) is ${now}`);
          // Kept only once routing follows: a failed event is fired again next round.
          if (await fire(o.root, o.mode, now, p.name, o.print)) state.set(p.name, now);
        }
      }),
    );
    const wait = Math.max(0, settings.intervalMs - (Date.now() - started));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      o.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}
