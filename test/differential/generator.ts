/**
 * A seeded generator of Shorewall directories for the lab's topology (red0, green0, blue0,
 * orange0): interface options, policies with log levels, rules with macros, address
 * exclusions (`!a,b` and `a!b`), ranges and lists, DNAT with a port change, dispositions. The same seed
 * always gives the same files, so a difference found once can be replayed.
 */

/** mulberry32: small, fast and good enough to pick configurations (and replay them by seed). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ZONES = ['net', 'loc', 'gst', 'dmz'] as const;
const HOSTS: Record<string, string[]> = {
  net: ['198.51.100.10', '203.0.113.1', '198.51.100.0/24'],
  loc: ['192.168.1.10', '192.168.1.5-192.168.1.15', '192.168.1.0/24'],
  gst: ['192.168.10.10', '192.168.10.0/24'],
  dmz: ['192.168.20.10', '192.168.20.0/28'],
};

export interface GeneratedCase {
  seed: number;
  files: Record<string, string>;
  /** Port forwards the probe set should try: red port -> orange's listening port. */
  forwards: { port: number; listenPort: number }[];
}

export const GENERATED_PORTS = { tcp: [22, 80, 5000], udp: [53] };

export function generateCase(seed: number): GeneratedCase {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const chance = (p: number) => next() < p;

  const options = (extra: string[]) => {
    const chosen = ['tcpflags', 'nosmurfs', ...extra].filter(() => chance(0.5));
    return chosen.length === 0 ? '-' : chosen.join(',');
  };
  const interfaces = [
    '?FORMAT 2',
    `net red0 ${options(['routefilter'])}`,
    `loc green0 ${options(['routeback'])}`,
    `gst blue0 ${options([])}`,
    `dmz orange0 ${options([])}`,
  ];

  const verdicts = ['ACCEPT', 'DROP', 'REJECT'] as const;
  const level = () => (chance(0.3) ? '\tinfo' : '');
  const policy: string[] = ['$FW all ACCEPT'];
  for (const s of ['loc', 'gst', 'dmz'] as const) {
    for (const d of ZONES) if (s !== d && chance(0.4)) policy.push(`${s} ${d} ${pick(verdicts)}${level()}`);
  }
  policy.push(`net all ${pick(['DROP', 'REJECT'] as const)}${level()}`, `all all ${pick(['REJECT', 'DROP'] as const)}${level()}`);

  const endpoint = (zone: string) => {
    if (zone === '$FW' || chance(0.5)) return zone;
    const hosts = HOSTS[zone]!;
    const roll = next();
    if (roll < 0.45) return `${zone}:${pick(hosts)}`;
    if (roll < 0.65) return `${zone}:${hosts.slice(0, 2).join(',')}`;
    if (roll < 0.82) return `${zone}:!${hosts[0]},${hosts[hosts.length - 1]}`;
    // An exclusion inside the list: the zone's network except its lab host.
    return `${zone}:${hosts[hosts.length - 1]}!${hosts[0]}`;
  };
  const rules: string[] = ['?SECTION NEW'];
  const count = 3 + Math.floor(next() * 6);
  for (let i = 0; i < count; i++) {
    const source = pick([...ZONES, '$FW']);
    let dest = pick([...ZONES, '$FW']);
    if (dest === source) dest = source === 'net' ? 'loc' : 'net';
    const verdict = pick(verdicts);
    if (chance(0.35)) {
      rules.push(`${pick(['SSH', 'HTTP', 'DNS', 'Ping'] as const)}(${verdict}) ${endpoint(source)} ${endpoint(dest)}`);
    } else {
      const proto = pick(['tcp', 'udp'] as const);
      const port = proto === 'tcp' ? pick(GENERATED_PORTS.tcp) : 53;
      rules.push(`${verdict}${chance(0.2) ? ':info' : ''} ${endpoint(source)} ${endpoint(dest)} ${proto} ${port}`);
    }
  }
  const forwards: GeneratedCase['forwards'] = [];
  if (chance(0.7)) {
    rules.push('DNAT net dmz:192.168.20.10:22 tcp 2222');
    forwards.push({ port: 2222, listenPort: 22 });
  }

  return {
    seed,
    files: {
      zones: 'fw firewall\nnet ipv4\nloc ipv4\ngst ipv4\ndmz ipv4\n',
      interfaces: interfaces.join('\n') + '\n',
      policy: policy.join('\n') + '\n',
      rules: rules.join('\n') + '\n',
      snat: 'MASQUERADE 192.168.0.0/16 red0\n',
      'shorewall.conf':
        [
          'STARTUP_ENABLED=Yes',
          'IP_FORWARDING=On',
          'LOG_LEVEL="info"',
          'LOGLIMIT="s:1/sec:10"',
          'EXPAND_POLICIES=Yes',
          // FASTACCEPT=No differs only in a pinned way (replies in shared chains); generated cases compare the rest.
          'FASTACCEPT=Yes',
          `INVALID_DISPOSITION=${pick(['CONTINUE', 'DROP'] as const)}`,
          'DROP_DEFAULT="Broadcast(DROP),Multicast(DROP)"',
          'REJECT_DEFAULT="Broadcast(DROP),Multicast(DROP)"',
        ].join('\n') + '\n',
    },
    forwards,
  };
}
