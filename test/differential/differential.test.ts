/**
 * Differential verdicts (issue 5): the same Shorewall directory loaded by Gatehouse into
 * one lab and by real Shorewall (`shorewall compile`, then the compiled script) into
 * another; the same probes must meet the same verdict in both. Directories: the sample
 * Gatehouse generates, its strict-policy variant, and a hand-written one (macros, REJECT
 * against DROP, DNAT with a port change, an address range, no maclist).
 */
import { execFileSync } from 'node:child_process';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/index.js';
import { buildProjectIfStale, runBin } from '../e2e/harness.js';
import { type Lab, LAB_NODES, createLab, labUnavailableReason } from '../lab/lab.js';
import { type Forward, type PortChoice, RED_V4, differences, formatMatrix, probeLabel, probeSet, runProbes } from './probes.js';
import { adaptedCopy, compileAndStart, fingerprint, shorewallUnavailableReason } from './shorewall-side.js';

const why = labUnavailableReason() ?? shorewallUnavailableReason();
if (why) console.warn('skipped: ' + why);

const HOST_STATE = ['/etc/shorewall', '/etc/shorewall6', '/var/lib/shorewall', '/var/lib/shorewall6'];
const MANUAL_DIR = join(import.meta.dirname, 'dirs/manual');

/** The gateway forwards probes through, in both labs. */
async function prepareLab(lab: Lab): Promise<void> {
  // Without this the ISP cannot reach the private ranges at all and inbound probes prove nothing.
  await lab.exec('isp', 'ip', ['route', 'add', '192.168.0.0/16', 'via', RED_V4]);
  // ICMP errors are rate limited per destination; a burst of rejected probes must not read as drops.
  await Promise.all(
    LAB_NODES.map((node) => lab.exec(node, 'sysctl', ['-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000'])),
  );
}

function hostRuleCount(): number {
  const saved = execFileSync('iptables-save', { encoding: 'utf8' });
  return saved.split('\n').filter((l) => l.startsWith('-A')).length;
}

describe.skipIf(why)('Gatehouse and Shorewall give every probe the same verdict', () => {
  let gatehouseLab: Lab;
  let shorewallLab: Lab;
  let work: string;
  let hostBefore: string;

  beforeAll(async () => {
    hostBefore = await fingerprint(HOST_STATE);
    await buildProjectIfStale();
    work = await mkdtemp(join(tmpdir(), 'gatehouse-diff-'));
    [gatehouseLab, shorewallLab] = await Promise.all([createLab(), createLab()]);
    await Promise.all([prepareLab(gatehouseLab), prepareLab(shorewallLab)]);
  });

  afterAll(async () => {
    await Promise.all([gatehouseLab?.destroy(), shorewallLab?.destroy()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Loads both sides and fails with the verdict matrix when any probe differs. */
  async function compare(name: string, gatehouseRoot: string, dirs: { v4: string; v6?: string }, ports: PortChoice, forwards: Forward[]): Promise<void> {
    await applyPlan(gatehouseRoot, { mode: { kind: 'netns', name: gatehouseLab.ns.gw }, print: () => undefined });
    const sw = join(work, name);
    await adaptedCopy(dirs.v4, join(sw, 'shorewall'), 4, work);
    await compileAndStart(shorewallLab.ns.gw, join(sw, 'shorewall'), 4, work);
    if (dirs.v6) {
      await adaptedCopy(dirs.v6, join(sw, 'shorewall6'), 6, work);
      await compileAndStart(shorewallLab.ns.gw, join(sw, 'shorewall6'), 6, work);
    }

    const probes = probeSet(ports, dirs.v6 ? [4, 6] : [4], forwards);
    const [reference, seen] = await Promise.all([runProbes(shorewallLab, probes), runProbes(gatehouseLab, probes)]);
    const found = differences(probes, reference, seen);
    const accepted = reference.filter((v) => v === 'accepted').length;
    console.log(`${name}: ${probes.length} probes, ${accepted} accepted by Shorewall, ${found.length} differences`);
    if (found.length > 0) console.log(`${name} verdict matrix:\n${formatMatrix(probes, reference, seen)}`);
    if (found.length > 0 && process.env['GATEHOUSE_DIFF_DEBUG']) {
      console.log(`shorewall ruleset:\n${await shorewallLab.exec('gw', 'iptables-save', [])}`);
      console.log(`gatehouse ruleset:\n${await gatehouseLab.exec('gw', 'iptables-save', [])}`);
    }
    // A probe set Shorewall answers with one verdict only would prove little.
    expect(new Set(reference).size, `${name}: Shorewall's verdicts should include accepts and refusals`).toBeGreaterThan(1);
    expect(
      found.map((d) => `${d.kind}: ${probeLabel(d.probe)} Shorewall ${d.shorewall}, Gatehouse ${d.gatehouse}`),
      `${name}: verdicts differ`,
    ).toEqual([]);
  }

  async function sampleRoot(strict: boolean): Promise<string> {
    const root = await mkdtemp(join(work, strict ? 'strict-' : 'sample-'));
    const steps: [string, string[]][] = [
      ['gatehouse.js', ['sample', '--root', root]],
      ...(strict ? ([['db.js', ['configuration', 'setprop', 'firewall', 'Policy', 'strict']]] as [string, string[]][]) : []),
      ['signal-event.js', ['--root', root, '--apply', 'dry-run', 'firewall-adjust']],
    ];
    for (const [bin, args] of steps) {
      const r = await runBin(bin, root, args);
      if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${String(r.code)}): ${r.stderr}`);
    }
    return root;
  }

  /** The hand-written directory, with `extra` appended to its shorewall.conf. */
  async function manualCase(name: string, extra: string): Promise<void> {
    const dir = join(work, `${name}-source`);
    await cp(MANUAL_DIR, dir, { recursive: true });
    await appendFile(join(dir, 'shorewall.conf'), extra);
    const root = await mkdtemp(join(work, `${name}-`));
    const compiled = await runBin('gatehouse.js', root, ['compile', '--root', root, '--dir', dir]);
    expect(compiled.code, compiled.stderr).toBe(0);
    await compare(
      name,
      root,
      { v4: dir },
      { tcp: [22, 25, 80, 5000], udp: [53, 514] },
      [
        { port: 2222, to: 'orange', listenPort: 22 },
        { port: 8080, to: 'orange', listenPort: 80 },
      ],
    );
  }

  // Gatehouse always accepts ESTABLISHED,RELATED at the top of INPUT/FORWARD/OUTPUT, as if
  // FASTACCEPT=Yes. With FASTACCEPT=No (Shorewall's default), Shorewall 5.2.8 accepts them
  // only in zone-pair chains that have rules: replies that land in a wildcard policy chain
  // (net-all, gst-all, all-all) meet the policy. So loc->net and loc->gst connections
  // (replies through net-all / gst-all) get no answer under Shorewall and work under
  // Gatehouse: false accepts relative to Shorewall, in src/compile (FASTACCEPT not honoured).
  it.fails('the same directory with FASTACCEPT=No: replies through wildcard policy chains', async () => {
    await manualCase('manual-no-fastaccept', 'FASTACCEPT=No\n');
  }, 90_000);

  it('a hand-written directory: macros, REJECT and DROP, DNAT with a port change, an address range', async () => {
    await manualCase('manual', 'FASTACCEPT=Yes\n');
  }, 90_000);

  it('the sample network Gatehouse generates (permissive, IPv4 and IPv6)', async () => {
    const root = await sampleRoot(false);
    await compare(
      'sample',
      root,
      { v4: join(root, 'etc/shorewall'), v6: join(root, 'etc/shorewall6') },
      { tcp: [22, 980, 5000], udp: [514] },
      [
        { port: 80, to: 'orange', listenPort: 80 },
        { port: 2222, to: 'orange', listenPort: 22 },
      ],
    );
  }, 90_000);

  it('the sample network with the strict policy', async () => {
    const root = await sampleRoot(true);
    await compare(
      'strict',
      root,
      { v4: join(root, 'etc/shorewall'), v6: join(root, 'etc/shorewall6') },
      { tcp: [22, 443, 5000], udp: [53] },
      [{ port: 80, to: 'orange', listenPort: 80 }],
    );
  }, 90_000);

  it('the host keeps no rules, no namespace of ours, and its Shorewall folders unchanged', async () => {
    await Promise.all([gatehouseLab.destroy(), shorewallLab.destroy()]);
    expect(hostRuleCount(), 'iptables rules in the host namespace').toBe(0);
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const ours = [...Object.values(gatehouseLab.ns), ...Object.values(shorewallLab.ns)].filter((n) => namespaces.includes(n));
    expect(ours, 'namespaces left behind').toEqual([]);
    expect(await fingerprint(HOST_STATE)).toBe(hostBefore);
  });
});
