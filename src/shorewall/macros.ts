/**
 * Shorewall's standard macros that Gatehouse knows: each is a list of (protocol, ports)
 * entries, optionally reversed (the DEST/SOURCE lines of bidirectional macros). Written
 * from the port assignments, not copied from Shorewall's files.
 */
export interface MacroEntry {
  proto: string;
  dports?: string;
  sports?: string;
  /** The entry applies from DEST to SOURCE. */
  reverse?: boolean;
}


const tcp = (dports: string): MacroEntry => ({ proto: 'tcp', dports });
const udp = (dports: string): MacroEntry => ({ proto: 'udp', dports });

const MACROS: Record<string, MacroEntry[]> = {
  // Echo request in both families; the compiler keeps each ICMP entry in its own family only.
  Ping: [{ proto: 'icmp', dports: '8' }, { proto: 'ipv6-icmp', dports: '128' }],
  Trcrt: [udp('33434:33524'), { proto: 'icmp', dports: '8' }, { proto: 'ipv6-icmp', dports: '128' }],
  DNS: [udp('53'), tcp('53')],
  SSH: [tcp('22')],
  HTTP: [tcp('80')],
  HTTPS: [tcp('443')],
  Web: [tcp('80'), tcp('443')],
  SMTP: [tcp('25')],
  SMTPS: [tcp('465')],
  MSA: [tcp('587')],
  Submission: [tcp('587')],
  IMAP: [tcp('143')],
  IMAPS: [tcp('993')],
  POP3: [tcp('110')],
  POP3S: [tcp('995')],
  NTP: [udp('123')],
  NTPbrd: [udp('123'), { proto: 'udp', dports: '1024:65535', sports: '123' }],
  FTP: [tcp('21')],
  Telnet: [tcp('23')],
  SNMP: [udp('161')],
  SNMPtrap: [udp('162')],
  Syslog: [udp('514'), tcp('514')],
  LDAP: [tcp('389')],
  LDAPS: [tcp('636')],
  MySQL: [tcp('3306')],
  PostgreSQL: [tcp('5432')],
  Rsync: [tcp('873')],
  Squid: [tcp('3128')],
  OpenVPN: [udp('1194')],
  Auth: [tcp('113')],
  RDP: [udp('3389'), tcp('3389')],
  VNC: [tcp('5900:5909')],
  Webmin: [tcp('10000')],
  Git: [tcp('9418')],
  DHCPfwd: [
    { proto: 'udp', dports: '67:68', sports: '67:68' },
    { proto: 'udp', dports: '67:68', sports: '67:68', reverse: true },
  ],
  IPsec: [
    { proto: 'udp', dports: '500', sports: '500' },
    { proto: 'esp' },
    { proto: 'udp', dports: '500', sports: '500', reverse: true },
    { proto: 'esp', reverse: true },
  ],
};

/** The entries of macro `name`, or undefined when Gatehouse does not know it. */
export function macroEntries(name: string): MacroEntry[] | undefined {
  return Object.hasOwn(MACROS, name) ? MACROS[name] : undefined;
}

export function knownMacroNames(): string[] {
  return Object.keys(MACROS).sort();
}
