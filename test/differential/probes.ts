/**
 * The probe set of a differential run and the comparison of two labs' verdicts.
 * Shorewall's verdict is the reference: a Gatehouse accept where Shorewall refused is a
 * false accept (a hole), a Gatehouse refusal where Shorewall accepted a false drop.
 */
import { GATEWAY_ADDRESSES, type Lab, type LabNode, type Proto, type Verdict, type Zone } from '../lab/lab.js';

export interface Probe {
  from: LabNode;
  to: LabNode;
  proto: Proto;
  port?: number;
  family: 4 | 6;
  /** Address sent to, when not the target's own. */
  address?: string;
  /** Port the target listens on (a port forward changes it). */
  listenPort?: number;
}

export interface PortChoice {
  tcp: number[];
  udp: number[];
}

export interface Forward {
  /** Port on the red address, and where it lands. */
  port: number;
  to: LabNode;
  listenPort: number;
}

const ENDPOINTS: LabNode[] = ['green', 'blue', 'orange', 'inet', 'isp', 'gw'];
const ZONE_OF: Partial<Record<LabNode, Zone>> = { green: 'green', blue: 'blue', orange: 'orange', inet: 'red', isp: 'red' };
export const RED_V4 = GATEWAY_ADDRESSES.red.v4;

/** The gateway's address seen from a node: the one on the node's own network. */
function gatewayAddressFor(from: LabNode, family: 4 | 6): string {
  const zone = ZONE_OF[from] ?? 'green';
  return family === 6 ? GATEWAY_ADDRESSES[zone].v6 : GATEWAY_ADDRESSES[zone].v4;
}

/** Every ordered pair of endpoints, every port and protocol, in each family; then the forwards. */
export function probeSet(ports: PortChoice, families: (4 | 6)[], forwards: Forward[]): Probe[] {
  const probes: Probe[] = [];
  for (const family of families) {
    for (const from of ENDPOINTS) {
      for (const to of ENDPOINTS) {
        if (from === to) continue;
        const address = to === 'gw' ? { address: gatewayAddressFor(from, family) } : {};
        for (const port of ports.tcp) probes.push({ from, to, proto: 'tcp', port, family, ...address });
        for (const port of ports.udp) probes.push({ from, to, proto: 'udp', port, family, ...address });
        probes.push({ from, to, proto: 'icmp', family, ...address });
      }
    }
  }
  for (const f of forwards) {
    for (const from of ENDPOINTS) {
      if (from === f.to || from === 'gw') continue;
      probes.push({ from, to: f.to, proto: 'tcp', port: f.port, family: 4, address: RED_V4, listenPort: f.listenPort });
    }
  }
  return probes;
}

export function probeLabel(p: Probe): string {
  const port = p.port === undefined ? '' : `/${p.port}`;
  const via = p.address ? ` (${p.address}${p.listenPort !== undefined && p.listenPort !== p.port ? ` -> :${p.listenPort}` : ''})` : '';
  return `${p.from} -> ${p.to}${via} IPv${p.family} ${p.proto}${port}`;
}

const PROBE_TIMEOUT_MS = 600;
const PARALLEL = 48;

/** Verdicts in probe order; a bounded number in flight so a busy box does not turn accepts into timeouts. */
export async function runProbes(lab: Lab, probes: Probe[], timeoutMs = PROBE_TIMEOUT_MS, parallel = PARALLEL): Promise<Verdict[]> {
  const verdicts: Verdict[] = new Array<Verdict>(probes.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < probes.length) {
      const i = next++;
      const p = probes[i]!;
      verdicts[i] = await lab.probe(p.from, p.to, p.proto, p.port, {
        family: p.family,
        timeoutMs,
        ...(p.address === undefined ? {} : { address: p.address }),
        ...(p.listenPort === undefined ? {} : { listenPort: p.listenPort }),
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return verdicts;
}

/** The wait of a confirming probe (four times the first round's), and how many may be in flight. */
const CONFIRM_TIMEOUT_MS = 2500;
const CONFIRM_PARALLEL = 128;

/**
 * Probes whose verdicts differ are sent again to both labs with a longer wait, up to
 * `rounds` times: on a loaded machine a short timeout turns an accept into a "drop" now
 * and then, and only a difference that persists is a difference. Updates both verdict
 * lists in place.
 *
 * A round sends its probes all at once (up to CONFIRM_PARALLEL): a persisting difference
 * is mostly a silent drop, which costs its whole wait and no CPU, so a few at a time made a
 * round last (differences / 8) waits; the wait four times the first round's is what keeps
 * a slow answer from reading as a drop.
 */
export async function confirmDifferences(shorewallLab: Lab, gatehouseLab: Lab, probes: Probe[], shorewall: Verdict[], gatehouse: Verdict[], rounds = 2): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const differing = probes.map((_, i) => i).filter((i) => shorewall[i] !== gatehouse[i]);
    if (differing.length === 0) return;
    const again = differing.map((i) => probes[i]!);
    const inFlight = Math.min(again.length, CONFIRM_PARALLEL);
    const [sw, gh] = await Promise.all([runProbes(shorewallLab, again, CONFIRM_TIMEOUT_MS, inFlight), runProbes(gatehouseLab, again, CONFIRM_TIMEOUT_MS, inFlight)]);
    differing.forEach((probeIndex, k) => {
      shorewall[probeIndex] = sw[k]!;
      gatehouse[probeIndex] = gh[k]!;
    });
  }
}

export function differenceKind(reference: Verdict, seen: Verdict): string {
  if (reference !== 'accepted' && seen === 'accepted') return 'FALSE ACCEPT';
  if (reference === 'accepted') return 'FALSE DROP';
  return seen === 'dropped' ? 'dropped, not rejected' : 'rejected, not dropped';
}

export interface Difference {
  probe: Probe;
  shorewall: Verdict;
  gatehouse: Verdict;
  kind: string;
}

export function differences(probes: Probe[], shorewall: Verdict[], gatehouse: Verdict[]): Difference[] {
  return probes.flatMap((probe, i) =>
    shorewall[i] === gatehouse[i] ? [] : [{ probe, shorewall: shorewall[i]!, gatehouse: gatehouse[i]!, kind: differenceKind(shorewall[i]!, gatehouse[i]!) }],
  );
}

/** One line per probe: both verdicts, and the kind of difference where they part. */
export function formatMatrix(probes: Probe[], shorewall: Verdict[], gatehouse: Verdict[]): string {
  const labels = probes.map(probeLabel);
  const width = Math.max(...labels.map((l) => l.length));
  const head = `${'probe'.padEnd(width)}  ${'shorewall'.padEnd(9)}  ${'gatehouse'.padEnd(9)}`;
  const rows = probes.map((_, i) => {
    const s = shorewall[i]!;
    const g = gatehouse[i]!;
    return `${labels[i]!.padEnd(width)}  ${s.padEnd(9)}  ${g.padEnd(9)}  ${s === g ? '' : differenceKind(s, g)}`.trimEnd();
  });
  return [head, ...rows].join('\n');
}
