/**
 * The built-in sample: a small office matching the lab's topology (test/lab), so the same
 * databases drive `npm run demo` (dry-run) and `npm run lab` (real packets).
 *
 *   green0  192.168.1.1/24   fd00:1::1/64     office LAN (admin PC, NAS, DHCP pool)
 *   blue0   192.168.10.1/24  fd00:10::1/64    guest Wi-Fi
 *   orange0 192.168.20.1/24  fd00:20::1/64    DMZ (web server)
 *   red0    203.0.113.2/24   2001:db8:1::2/64 internet, gateway 203.0.113.1
 *
 * `sampleRecords` is pure data; `writeSample` writes it through the validated db
 * operations, objects before the records that reference them.
 */
import { mergeDefaults, setProps, setRecord } from '../db/index.js';

export interface SampleRecord {
  db: string;
  key: string;
  type: string;
  props: Record<string, string>;
}

const r = (db: string, key: string, type: string, props: Record<string, string>): SampleRecord => ({ db, key, type, props });

/** Records in write order: networks and objects first, then what refers to them. */
export function sampleRecords(): SampleRecord[] {
  return [
    r('networks', 'green0', 'ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0', ip6addr: 'fd00:1::1/64' }),
    r('networks', 'blue0', 'ethernet', { role: 'blue', bootproto: 'none', ipaddr: '192.168.10.1', netmask: '255.255.255.0', ip6addr: 'fd00:10::1/64' }),
    r('networks', 'orange0', 'ethernet', { role: 'orange', bootproto: 'none', ipaddr: '192.168.20.1', netmask: '255.255.255.0', ip6addr: 'fd00:20::1/64' }),
    r('networks', 'red0', 'ethernet', {
      role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', gateway: '203.0.113.1', ip6addr: '2001:db8:1::2/64',
    }),

    r('hosts', 'admin-pc', 'host', { IpAddress: '192.168.1.10', Description: 'administrator workstation' }),
    r('hosts', 'nas', 'host', { IpAddress: '192.168.1.20', Description: 'file server' }),
    r('hosts', 'web', 'host', { IpAddress: '192.168.20.10', Description: 'DMZ web server' }),
    r('hosts', 'partner', 'host', { IpAddress: '198.51.100.10', Description: 'partner office on the internet' }),
    r('hosts', 'staff', 'host-group', { Members: 'admin-pc,nas', Description: 'office machines' }),
    r('hosts', 'guest-wifi', 'cidr', { Address: '192.168.10.0/24', Description: 'guest network' }),
    r('hosts', 'dhcp-pool', 'iprange', { Start: '192.168.1.100', End: '192.168.1.200', Description: 'LAN DHCP leases' }),

    r('fwservices', 'webapp', 'fwservice', { Protocol: 'tcp', Ports: '8080', Description: 'intranet application' }),
    r('fwservices', 'backup', 'fwservice', { Protocol: 'tcp', Ports: '873', Description: 'rsync backups' }),
    r('fwservices', 'ssh', 'fwservice', { Protocol: 'tcp', Ports: '22', Description: 'secure shell' }),
    r('fwservices', 'syslog', 'fwservice', { Protocol: 'udp', Ports: '514', Description: 'remote logging' }),

    r('fwtimes', 'officehours', 'time', { WeekDays: 'Mon,Tue,Wed,Thu,Fri', TimeStart: '08:00', TimeStop: '18:00', Description: 'working hours' }),

    // Guests may browse the DMZ web server but never the staff machines or the backups.
    r('fwrules', '1', 'rule', { Position: '10', Src: 'cidr;guest-wifi', Dst: 'host-group;staff', Service: 'any', Action: 'reject', status: 'enabled', Description: 'guests never reach staff machines' }),
    r('fwrules', '2', 'rule', { Position: '20', Src: 'host;web', Dst: 'host;nas', Service: 'fwservice;backup', Action: 'accept', status: 'enabled', Description: 'web server backs up to the NAS' }),
    r('fwrules', '3', 'rule', { Position: '30', Src: 'role;orange', Dst: 'host;admin-pc', Service: 'fwservice;syslog', Action: 'accept', status: 'enabled', Description: 'DMZ logs to the admin PC' }),
    r('fwrules', '4', 'rule', { Position: '40', Src: 'iprange;dhcp-pool', Dst: 'role;red', Service: 'fwservice;webapp', Action: 'drop', status: 'enabled', Description: 'no outside intranet apps from DHCP clients' }),
    r('fwrules', '5', 'rule', { Position: '50', Src: 'host;admin-pc', Dst: 'role;red', Service: '3389', Action: 'accept', Time: 'time;officehours', status: 'enabled', Description: 'remote desktop out, office hours' }),
    r('fwrules', '6', 'rule', { Position: '60', Src: 'host;partner', Dst: 'host;web', Service: 'fwservice;ssh', Action: 'accept', status: 'enabled', Description: 'partner maintains the web server' }),

    r('portforward', '1', 'pf', { Proto: 'tcp', Src: '80', Dst: '80', DstHost: 'host;web', status: 'enabled', Description: 'public web site' }),
    r('portforward', '2', 'pf', { Proto: 'tcp', Src: '2222', Dst: '22', DstHost: 'host;web', Allow: '198.51.100.0/24', status: 'enabled', Description: 'ssh to the web server, partner network only' }),
  ];
}

/** Settings the sample changes on shipped default records. */
export function sampleSettings(): { db: string; key: string; props: Record<string, string> }[] {
  return [{ db: 'configuration', key: 'firewall', props: { Policy: 'permissive', ExternalPing: 'enabled', HairpinNat: 'enabled' } }];
}

/**
 * Fills `root` with the shipped defaults and the sample; every write is validated, so a
 * sample that breaks a schema fails here naming db, key and prop.
 */
export async function writeSample(root: string): Promise<SampleRecord[]> {
  await mergeDefaults(root);
  const records = sampleRecords();
  for (const rec of records) await setRecord(root, rec.db, rec.key, rec.type, rec.props);
  for (const s of sampleSettings()) await setProps(root, s.db, s.key, s.props);
  return records;
}
