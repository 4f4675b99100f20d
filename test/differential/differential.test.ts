/**
 * Differential verdicts (issue 5): the same Shorewall directory loaded by Gatehouse into
 * one lab and by real Shorewall (`shorewall compile`, then the compiled script) into
 * another; the same probes must meet the same verdict in both. Directories: the sample
 * Gatehouse generates, its strict-policy variant, and a hand-written one (macros, REJECT
 * against DROP, DNAT with a port change, an address range, no maclist) under three sets
 * of settings. Each comparison gets two fresh labs: Shorewall's `start` in a namespace
 * where it already ran loads nothing. One proved divergence is pinned, not hidden.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/index.js';
import { buildProjectIfStale, runBin } from '../e2e/harness.js';
import { type Lab, type LabNode, LAB_NODES, createLab, labUnavailableReason } from '../lab/lab.js';
import { type Difference, type Forward, type PortChoice, RED_V4, confirmDifferences, differences, formatMatrix, probeLabel, probeSet, runProbes } from './probes.js';
import { GENERATED_PORTS, generateCase } from './generator.js';
import { adaptedCopy, compileAndStart, fingerprint, shorewallUnavailableReason } from './shorewall-side.js';

const why = labUnavailableReason() ?? shorewallUnavailableReason();
if (why) console.warn('skipped: ' + why);

const HOST_STATE = ['/etc/shorewall', '/etc/shorewall6', '/var/lib/shorewall', '/var/lib/shorewall6'];
const MANUAL_DIR = join(import.meta.dirname, 'dirs/manual');
const SAMPLES_DIR = '/usr/share/doc/shorewall/examples';
const SAMPLES6_DIR = '/usr/share/doc/shorewall6/examples';

/** The gateway forwards probes through, in both labs. */
async function prepareLab(lab: Lab): Promise<void> {
  // Without this the ISP cannot reach the private ranges at all and inbound probes prove nothing.
  await lab.routePrivateRangesToGateway();
  // ICMP errors are rate limited per destination; a burst of rejected probes must not read as drops.
  await Promise.all(
    LAB_NODES.map((node) => lab.exec(node, 'sysctl', ['-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000'])),
  );
}

/** Waits for every step, then fails with the first failure (no step is left running behind the lab's removal). */
async function allSettledOrThrow(steps: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function hostRuleCount(): number {
  const saved = execFileSync('iptables-save', { encoding: 'utf8' });
  return saved.split('\n').filter((l) => l.startsWith('-A')).length;
}

/**
 * The figures of one comparison, counted apart (issue 16): printed as one line, and
 * appended as JSON to GATEHOUSE_DIFF_REPORT when set (scripts/differential-figures.mjs
 * sums them).
 */
async function recordFigures(name: string, probes: number, found: Difference[]): Promise<void> {
  const count = (kind: string) => found.filter((d) => d.kind === kind).length;
  const figures = {
    name,
    probes,
    agreed: probes - found.length,
    falseAccepts: count('FALSE ACCEPT'),
    falseDrops: count('FALSE DROP'),
    rejectedNotDropped: count('rejected, not dropped'),
    droppedNotRejected: count('dropped, not rejected'),
  };
  console.log(`figures ${JSON.stringify(figures)}`);
  const report = process.env['GATEHOUSE_DIFF_REPORT'];
  if (report) await appendFile(report, JSON.stringify(figures) + '\n');
}

describe.skipIf(why)('Gatehouse and Shorewall give every probe the same verdict', () => {
  /** Every lab made, so the last test and afterAll can check and clean them all. */
  const labs: Lab[] = [];
  let work: string;
  let hostBefore: string;

  beforeAll(async () => {
    hostBefore = await fingerprint(HOST_STATE);
    await buildProjectIfStale();
    work = await mkdtemp(join(tmpdir(), 'gatehouse-diff-'));
  });

  afterAll(async () => {
    await Promise.all(labs.map((lab) => lab.destroy()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function freshLab(): Promise<Lab> {
    const lab = await createLab();
    labs.push(lab);
    await prepareLab(lab);
    return lab;
  }

  /**
   * Loads both sides, each into a lab of its own made for this comparison (a namespace
   * where Shorewall already ran would ignore a second `start`), and fails with the
   * verdict matrix when any probe differs.
   */
  async function compare(
    name: string,
    gatehouseRoot: string,
    dirs: { v4: string; v6?: string },
    ports: PortChoice,
    forwards: Forward[],
    knownDivergence?: (found: Difference[], shorewallRuleset: string) => void,
  ): Promise<void> {
    const [gatehouseLab, shorewallLab] = await Promise.all([freshLab(), freshLab()]);
    try {
      const sw = join(work, name);
      const shorewallFamily = async (family: 4 | 6, source: string, product: string): Promise<void> => {
        await adaptedCopy(source, join(sw, product), family, work);
        await compileAndStart(shorewallLab.ns.gw, join(sw, product), family, work);
      };
      // The sides load into labs of their own, and Shorewall's two families into tables of
      // their own (separate VARDIRs), so the three loads run at once.
      await allSettledOrThrow([
        applyPlan(gatehouseRoot, { mode: { kind: 'netns', name: gatehouseLab.ns.gw }, print: () => undefined }),
        shorewallFamily(4, dirs.v4, 'shorewall'),
        ...(dirs.v6 ? [shorewallFamily(6, dirs.v6, 'shorewall6')] : []),
      ]);
      // The reference must be the ruleset just compiled, in the families probed.
      const loaded4 = await shorewallLab.exec('gw', 'iptables-save', []);
      expect(loaded4, `${name}: Shorewall's IPv4 ruleset in the lab`).toContain(':shorewall - ');
      if (dirs.v6) expect(await shorewallLab.exec('gw', 'ip6tables-save', []), `${name}: Shorewall's IPv6 ruleset`).toContain(':shorewall - ');

      const probes = probeSet(ports, dirs.v6 ? [4, 6] : [4], forwards);
      const [reference, seen] = await Promise.all([runProbes(shorewallLab, probes), runProbes(gatehouseLab, probes)]);
      await confirmDifferences(shorewallLab, gatehouseLab, probes, reference, seen);
      const found = differences(probes, reference, seen);
      const accepted = reference.filter((v) => v === 'accepted').length;
      console.log(`${name}: ${probes.length} probes, ${accepted} accepted by Shorewall, ${found.length} differences`);
      await recordFigures(name, probes.length, found);
      if (found.length > 0) console.log(`${name} verdict matrix:\n${formatMatrix(probes, reference, seen)}`);
      if (found.length > 0 && process.env['GATEHOUSE_DIFF_DEBUG']) {
        console.log(`shorewall ruleset:\n${loaded4}`);
        console.log(`gatehouse ruleset:\n${await gatehouseLab.exec('gw', 'iptables-save', [])}`);
      }
      // A probe set Shorewall answers with one verdict only would prove little.
      expect(new Set(reference).size, `${name}: Shorewall's verdicts should include accepts and refusals`).toBeGreaterThan(1);
      if (knownDivergence) knownDivergence(found, loaded4);
      else {
        expect(
          found.map((d) => `${d.kind}: ${probeLabel(d.probe)} Shorewall ${d.shorewall}, Gatehouse ${d.gatehouse}`),
          `${name}: verdicts differ`,
        ).toEqual([]);
      }
    } finally {
      await Promise.all([gatehouseLab.destroy(), shorewallLab.destroy()]);
    }
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
  async function manualCase(name: string, extra: string, knownDivergence?: (found: Difference[], shorewallRuleset: string) => void): Promise<void> {
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
      knownDivergence,
    );
  }

  // A proved divergence, pinned rather than hidden. With FASTACCEPT=No and EXPAND_POLICIES
  // unset (Shorewall's built-in default is No), Shorewall 5.2.8 shares one chain per wildcard
  // policy (net-all, gst-all, all-all); complete_policy_chains() (Rules.pm, near line 1155)
  // adds the ESTABLISHED,RELATED accept only to policy chains not yet referenced, and these
  // already are, so replies of allowed connections dispatched into them (net_frwd -o green0
  // -j net-all for loc->net replies) meet the DROP/REJECT policy: loc->net does not work.
  // Gatehouse accepts replies at the top of INPUT/FORWARD/OUTPUT whatever the settings, so it
  // accepts those connections (src/compile does not model EXPAND_POLICIES=No). Shorewall's
  // shipped shorewall.conf and Gatehouse's own files set EXPAND_POLICIES=Yes, where both
  // agree (next test). If this test fails, the divergence changed: look again, do not relax it.
  it('known divergence: FASTACCEPT=No without EXPAND_POLICIES, Shorewall drops replies in shared wildcard policy chains', async () => {
    await manualCase('manual-shared-policy-chains', 'FASTACCEPT=No\n', (found, shorewallRuleset) => {
      expect(shorewallRuleset).toContain('-A net_frwd -o green0 -j net-all');
      expect(shorewallRuleset).not.toMatch(/^-A net-all .*ESTABLISHED.* -j ACCEPT$/m);
      const labels = found.map((d) => `${d.kind}: ${probeLabel(d.probe)}`);
      expect(labels).toContain('FALSE ACCEPT: green -> inet IPv4 tcp/80');
      expect(labels.filter((l) => !l.startsWith('FALSE ACCEPT: ')), 'differences other than replies Shorewall drops').toEqual([]);
    });
  }, 90_000);

  it('the same directory with FASTACCEPT=No, EXPAND_POLICIES=Yes and OPTIMIZE=All, as the sample writes them', async () => {
    await manualCase('manual-expanded', 'FASTACCEPT=No\nEXPAND_POLICIES=Yes\nOPTIMIZE=All\n');
  }, 90_000);

  it('a hand-written directory: macros, REJECT and DROP, DNAT with a port change, an address range', async () => {
    await manualCase('manual', 'FASTACCEPT=Yes\n');
  }, 90_000);

  /**
   * One of Debian's Shorewall sample configurations with its shorewall6 twin, unchanged but
   * for the kernel names of their interfaces (the lab's red0, green0, orange0 for eth0,
   * eth1, eth2), probed in both families.
   */
  async function debianSample(sample: string): Promise<void> {
    const copy = async (from: string, to: string) => {
      await cp(from, to, { recursive: true });
      for (const name of ['interfaces', 'snat', 'stoppedrules']) {
        const path = join(to, name);
        const text = await readFile(path, 'utf8').catch(() => undefined);
        if (text !== undefined) await writeFile(path, text.replace(/physical=eth0/g, 'physical=red0').replace(/physical=eth1/g, 'physical=green0').replace(/physical=eth2/g, 'physical=orange0'));
      }
    };
    const dir = join(work, `${sample}-source`);
    const dir6 = join(work, `${sample}-source6`);
    await copy(join(SAMPLES_DIR, sample), dir);
    await copy(join(SAMPLES6_DIR, sample), dir6);
    const root = await mkdtemp(join(work, `${sample}-`));
    const compiled = await runBin('gatehouse.js', root, ['compile', '--root', root, '--dir', dir, '--dir6', dir6]);
    expect(compiled.code, compiled.stderr).toBe(0);
    // A proved divergence, pinned: traffic from an interface the sample does not list (the
    // lab's blue0, and orange0 in two-interfaces) meets the all all REJECT policy in both, but
    // with FASTACCEPT=No Shorewall accepts replies only in zone chains, so its own TCP reset or
    // ICMP error back out of the unlisted interface meets OUTPUT's REJECT policy and is lost:
    // the sender waits (dropped). Gatehouse accepts replies first, so the sender is told
    // (rejected). Any other difference fails.
    const unlisted = UNLISTED[sample] ?? [];
    await compare(sample, root, { v4: dir, v6: dir6 }, { tcp: [22, 53, 80], udp: [53] }, [], (found) => {
      const other = found.filter((d) => !(d.kind === 'rejected, not dropped' && unlisted.includes(d.probe.from)));
      expect(other.map((d) => `${d.kind}: ${probeLabel(d.probe)} Shorewall ${d.shorewall}, Gatehouse ${d.gatehouse}`), `${sample}: verdicts differ`).toEqual([]);
    });
  }

  /** The lab's nodes behind interfaces each sample does not list. */
  const UNLISTED: Record<string, LabNode[]> = { 'one-interface': ['green', 'blue', 'orange'], 'two-interfaces': ['blue', 'orange'], 'three-interfaces': ['blue'] };

  for (const sample of ['one-interface', 'two-interfaces', 'three-interfaces', 'Universal']) {
    it.skipIf(!existsSync(join(SAMPLES_DIR, sample)) || !existsSync(join(SAMPLES6_DIR, sample)))(`Debian's ${sample} sample and its shorewall6 twin, unchanged`, async () => {
      await debianSample(sample);
    }, 180_000);
  }

  // Generated configurations: GATEHOUSE_DIFF_SEEDS=1,2,3 or GATEHOUSE_DIFF_GENERATED=50 (seeds 1..50) on
  // demand; CI runs one. Each failure names its seed, and the seed replays the same files.
  const seeds = process.env['GATEHOUSE_DIFF_SEEDS']?.split(',').map(Number) ??
    Array.from({ length: Number(process.env['GATEHOUSE_DIFF_GENERATED'] ?? '1') }, (_, i) => i + 1);
  it.each(seeds)('generated configuration, seed %i', async (seed) => {
    const generated = generateCase(seed);
    const dir = join(work, `seed-${seed}-source`);
    await mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(generated.files)) await writeFile(join(dir, name), text);
    const root = await mkdtemp(join(work, `seed-${seed}-`));
    const compiled = await runBin('gatehouse.js', root, ['compile', '--root', root, '--dir', dir]);
    expect(compiled.code, compiled.stderr).toBe(0);
    await compare(`seed-${seed}`, root, { v4: dir }, GENERATED_PORTS, generated.forwards.map((f) => ({ ...f, to: 'orange' as const })));
  }, 120_000);

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
    await Promise.all(labs.map((lab) => lab.destroy()));
    expect(hostRuleCount(), 'iptables rules in the host namespace').toBe(0);
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const ours = labs.flatMap((lab) => Object.values(lab.ns)).filter((n) => namespaces.includes(n));
    expect(ours, 'namespaces left behind').toEqual([]);
    expect(await fingerprint(HOST_STATE)).toBe(hostBefore);
  });
});
