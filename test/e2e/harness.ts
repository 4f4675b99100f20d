/**
 * End-to-end harness: a temporary root configured only through the real `db` and
 * `signal-event` commands, applied into a lab's gateway namespace, and verdict checks
 * that say which kind of wrong verdict they saw (false accept = security hole, false
 * drop = needless block).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type Lab, type LabNode, type ProbeOptions, type Proto, type Verdict, createLab } from '../lab/lab.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';

export { buildProjectIfStale } from '../templates/build.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBin(bin: string, root: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectDir, 'bin', bin), ...args], {
      env: { ...process.env, GATEHOUSE_ROOT: root, GATEHOUSE_APPLY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A Gatehouse root for one test file, configured with the lab's four interfaces. */
export class E2eRoot {
  private constructor(
    readonly root: string,
    readonly gatewayNamespace: string,
  ) {}

  static async create(lab: Lab): Promise<E2eRoot> {
    const root = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-'));
    const r = new E2eRoot(root, lab.ns.gw);
    await r.signal('initialize-default-databases', { apply: 'dry-run' });
    // The four interfaces in one `db networks setjson` (one process start instead of four).
    const ethernet = (name: string, props: Record<string, string>) => ({ name, type: 'ethernet', props: { bootproto: 'none', netmask: '255.255.255.0', ...props } });
    await r.db(
      'networks',
      'setjson',
      JSON.stringify([
        ethernet('green0', { role: 'green', ipaddr: '192.168.1.1', ip6addr: 'fd00:1::1/64' }),
        ethernet('blue0', { role: 'blue', ipaddr: '192.168.10.1', ip6addr: 'fd00:10::1/64' }),
        ethernet('orange0', { role: 'orange', ipaddr: '192.168.20.1', ip6addr: 'fd00:20::1/64' }),
        ethernet('red0', { role: 'red', ipaddr: '203.0.113.2', gateway: '203.0.113.1', ip6addr: '2001:db8:1::2/64' }),
      ]),
    );
    return r;
  }

  /** `db ARGS`; a refusal fails the test with db's message. */
  async db(...args: string[]): Promise<string> {
    const result = await runBin('db.js', this.root, args);
    if (result.code !== 0) throw new Error(`db ${args.join(' ')} failed (${String(result.code)}): ${result.stderr}`);
    return result.stdout;
  }

  /** `signal-event --apply netns:<gw> NAME` (or another mode); returns the result, never throws. */
  signal(event: string, options: { apply?: string } = {}): Promise<RunResult> {
    return runBin('signal-event.js', this.root, ['--root', this.root, '--apply', options.apply ?? `netns:${this.gatewayNamespace}`, event]);
  }

  /** firewall-adjust into the lab; fails the test with the event's message. */
  async adjust(): Promise<void> {
    const result = await this.signal('firewall-adjust');
    if (result.code !== 0) throw new Error(`firewall-adjust failed (${String(result.code)}): ${result.stderr}`);
  }

  gatehouse(args: string[]): Promise<RunResult> {
    return runBin('gatehouse.js', this.root, [args[0] ?? '', '--root', this.root, ...args.slice(1)]);
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

export interface Expectation {
  from: LabNode;
  to: LabNode;
  proto: Proto;
  port?: number;
  verdict: Verdict;
  options?: ProbeOptions;
  /** What the case proves, for the failure message. */
  why?: string;
}

function label(e: Expectation): string {
  const address = e.options?.address ? ` (${e.options.address})` : '';
  const family = e.options?.family === 6 ? ' IPv6' : '';
  return `${e.from} -> ${e.to}${address}${family} ${e.proto}${e.port === undefined ? '' : '/' + String(e.port)}`;
}

export function describeWrongVerdict(expected: Verdict, seen: Verdict): string {
  if (expected !== 'accepted' && seen === 'accepted') return 'FALSE ACCEPT (security hole)';
  if (expected === 'accepted') return 'FALSE DROP (needless block)';
  return `wrong refusal (${expected} expected: the sender ${seen === 'dropped' ? 'waits for a timeout' : 'learns the port is closed'})`;
}

/** Probes every case in parallel and fails once, listing each wrong verdict with its kind. */
export async function expectVerdicts(lab: Lab, cases: Expectation[]): Promise<void> {
  const seen = await Promise.all(cases.map((c) => lab.probe(c.from, c.to, c.proto, c.port, c.options ?? {})));
  const wrong = cases
    .map((c, i) => ({ c, got: seen[i]! }))
    .filter(({ c, got }) => got !== c.verdict)
    .map(({ c, got }) => `${describeWrongVerdict(c.verdict, got)}: ${label(c)} was ${got}, expected ${c.verdict}${c.why ? ` (${c.why})` : ''}`);
  expect(wrong, wrong.join('\n')).toEqual([]);
}

/** The probe matrix as a table, for `npm run lab`. */
export function formatMatrix(cases: Expectation[], seen: Verdict[]): string {
  const rows = cases.map((c, i) => [label(c), seen[i] ?? '?', seen[i] === c.verdict ? 'ok' : describeWrongVerdict(c.verdict, seen[i]!), c.why ?? '']);
  const widths = [0, 1, 2].map((k) => Math.max(...rows.map((r) => r[k]!.length)));
  return rows.map((r) => r.map((cell, k) => (k < 3 ? cell.padEnd(widths[k]!) : cell)).join('  ')).join('\n');
}

export interface LabRoot {
  lab: Lab;
  gh: E2eRoot;
}

/**
 * What every lab test file starts from: the project built, a fresh lab, and a root whose
 * interfaces match it. With `routePrivate`, the ISP routes the private ranges to the
 * gateway, so internet-to-LAN verdicts come from the ruleset, not from a missing route.
 */
export async function openLabRoot(options: { routePrivate?: boolean } = {}): Promise<LabRoot> {
  await buildProjectIfStale();
  const lab = await createLab();
  try {
    if (options.routePrivate) await lab.routePrivateRangesToGateway();
    return { lab, gh: await E2eRoot.create(lab) };
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

export async function closeLabRoot(opened: Partial<LabRoot>): Promise<void> {
  await opened.lab?.destroy();
  await opened.gh?.remove();
}
