/**
 * ICMP and ICMPv6 type names as iptables and ip6tables know them (`-p icmp -h`,
 * `-p ipv6-icmp -h`), so a name is checked where it is written (a fwservice, a rules
 * line) instead of failing iptables-restore at apply time. The two families share few
 * names: fragmentation-needed is IPv4 only, packet-too-big and the neighbour messages
 * IPv6 only. Importable by the db schema, the parser and the compiler.
 */

export type IcmpFamily = 4 | 6;

const ICMP_NAMES = [
  'any', 'echo-reply', 'pong', 'destination-unreachable', 'network-unreachable', 'host-unreachable', 'protocol-unreachable',
  'port-unreachable', 'fragmentation-needed', 'source-route-failed', 'network-unknown', 'host-unknown', 'network-prohibited',
  'host-prohibited', 'TOS-network-unreachable', 'TOS-host-unreachable', 'communication-prohibited', 'host-precedence-violation',
  'precedence-cutoff', 'source-quench', 'redirect', 'network-redirect', 'host-redirect', 'TOS-network-redirect', 'TOS-host-redirect',
  'echo-request', 'ping', 'router-advertisement', 'router-solicitation', 'time-exceeded', 'ttl-exceeded', 'ttl-zero-during-transit',
  'ttl-zero-during-reassembly', 'parameter-problem', 'ip-header-bad', 'required-option-missing', 'timestamp-request',
  'timestamp-reply', 'address-mask-request', 'address-mask-reply',
];

const ICMPV6_NAMES = [
  'destination-unreachable', 'no-route', 'communication-prohibited', 'beyond-scope', 'address-unreachable', 'port-unreachable',
  'failed-policy', 'reject-route', 'packet-too-big', 'time-exceeded', 'ttl-exceeded', 'ttl-zero-during-transit',
  'ttl-zero-during-reassembly', 'parameter-problem', 'bad-header', 'unknown-header-type', 'unknown-option', 'echo-request', 'ping',
  'echo-reply', 'pong', 'router-solicitation', 'router-advertisement', 'neighbour-solicitation', 'neighbor-solicitation',
  'neighbour-advertisement', 'neighbor-advertisement', 'redirect',
];

const NAMES: Record<IcmpFamily, ReadonlySet<string>> = { 4: new Set(ICMP_NAMES), 6: new Set(ICMPV6_NAMES) };

/** Names of one family only, as a hint for whoever wrote them in the other. */
const OTHER_FAMILY: Record<string, string> = {
  'fragmentation-needed': "'fragmentation-needed' is IPv4's; ICMPv6 calls it packet-too-big",
  'packet-too-big': "'packet-too-big' is ICMPv6's; IPv4 calls it fragmentation-needed",
  'neighbour-solicitation': "'neighbour-solicitation' is ICMPv6 neighbour discovery (IPv4 uses ARP)",
  'neighbour-advertisement': "'neighbour-advertisement' is ICMPv6 neighbour discovery (IPv4 uses ARP)",
};

/**
 * Why `text` is not one ICMP type of `family`, or undefined when it is: a number 0-255,
 * type/code, or a name of that family.
 */
export function icmpTypeProblem(family: IcmpFamily, text: string): string | undefined {
  const numeric = /^(\d{1,3})(?:\/(\d{1,3}))?$/.exec(text);
  if (numeric) {
    if (Number(numeric[1]) <= 255 && (numeric[2] === undefined || Number(numeric[2]) <= 255)) return undefined;
    return 'a type 0..255, or type/code with both 0..255';
  }
  if (NAMES[family].has(text)) return undefined;
  const expected =
    family === 4
      ? 'one icmp type: a number (8), type/code (3/4) or a name such as echo-request, fragmentation-needed, time-exceeded'
      : 'one ipv6-icmp type: a number (128), type/code (1/3) or a name such as echo-request, packet-too-big, neighbour-solicitation';
  const other = OTHER_FAMILY[text];
  return other === undefined ? expected : `${expected}; ${other}`;
}
