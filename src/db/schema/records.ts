/**
 * Schemas of the record types the firewall reads, per database (NethServer 7 facts,
 * section 5, and the firewall-base reference). Known props are checked; unknown props
 * are accepted so administrators and other packages can extend records. An empty value
 * means "unset", as in e-smith, and is only refused for required props.
 */
import { icmpTypeProblem } from '../../icmp/index.js';
import * as c from './checks.js';
import * as r from './references.js';
import { API_CONFIGURATION, API_DATABASES } from './api.js';

/** A problem found by a cross-prop check (prop undefined: the record as a whole). */
export interface RecordProblem {
  prop?: string;
  message: string;
  hint: string;
}

export interface RecordSchema {
  props: Record<string, c.ValueCheck>;
  required?: string[];
  /** What the key must look like, for types whose key carries meaning. */
  key?: c.ValueCheck;
  /** Checks that involve several props (ranges, rule constraints). */
  record?: (props: Record<string, string>) => RecordProblem[];
}

export interface DatabaseSchema {
  types: Record<string, RecordSchema>;
  /** Schemas for single well-known keys, applied when the key has the given type. */
  keys?: Record<string, { type: string; schema: RecordSchema }>;
}

const interfaceRecord: RecordSchema = {
  props: {
    role: c.interfaceRole,
    bootproto: c.oneOf('none', 'static', 'dhcp'),
    ipaddr: c.ipv4,
    netmask: c.netmask,
    gateway: c.ipv4,
    ip6addr: c.ipv6WithPrefix,
    gateway6: (v) => (c.isIPv6(v) ? undefined : 'an IPv6 address such as 2001:db8:1::ff'),
    TCLinklayer: c.oneOf('ethernet', 'atm', 'adsl', 'vdsl2', 'none'),
    bridge: c.interfaceName,
    master: c.interfaceName,
    FwInBandwidth: c.integerBetween(1, 100_000_000),
    FwOutBandwidth: c.integerBetween(1, 100_000_000),
    onboot: c.yesNo,
    nm_controlled: c.yesNo,
    userctl: c.yesNo,
  },
  key: c.interfaceName,
};

/** Start < End, both of the same family. */
function rangeProblems(props: Record<string, string>): RecordProblem[] {
  const start = props['Start'] ?? '';
  const end = props['End'] ?? '';
  if (!c.isIP(start) || !c.isIP(end)) return [];
  const order = c.compareAddresses(start, end);
  if (order === undefined) {
    return [{ prop: 'End', message: `'${end}' is not the same address family as Start '${start}'`, hint: 'both IPv4 or both IPv6' }];
  }
  if (order >= 0) {
    return [{ prop: 'End', message: `the range ${start}-${end} is written backwards or empty`, hint: `End must be greater than Start ${start}` }];
  }
  return [];
}

/** Ip6Address is the IPv6 side of a host whose IpAddress is IPv4. */
function hostAddressProblems(props: Record<string, string>): RecordProblem[] {
  const ip = props['IpAddress'] ?? '';
  if ((props['Ip6Address'] ?? '') === '' || !c.isIPv6(ip)) return [];
  return [{ prop: 'Ip6Address', message: `IpAddress '${ip}' is IPv6 already`, hint: 'put the IPv4 address in IpAddress and the IPv6 one in Ip6Address' }];
}

/** Network6 is the IPv6 side of a zone whose Network is IPv4. */
function zoneNetworkProblems(props: Record<string, string>): RecordProblem[] {
  const network = props['Network'] ?? '';
  if ((props['Network6'] ?? '') === '' || !c.isCIDR(network) || !network.includes(':')) return [];
  return [{ prop: 'Network6', message: `Network '${network}' is IPv6 already`, hint: 'put the IPv4 network in Network and the IPv6 one in Network6' }];
}

const RED_ONLY_DESTINATIONS = ['role;red'];
const OBJECT_DESTINATIONS = ['host', 'iprange', 'zone', 'cidr'];

/** The firewall-base validator's constraints on traffic-shaping, divert and nDPI rules. */
function ruleProblems(props: Record<string, string>): RecordProblem[] {
  const action = props['Action'] ?? '';
  const src = props['Src'] ?? '';
  const dst = props['Dst'] ?? '';
  const service = props['Service'] ?? '';
  const out: RecordProblem[] = [];
  const special = action.startsWith('class;') || action.startsWith('provider;');
  if (special) {
    if (src === 'role;red') {
      out.push({ prop: 'Src', message: `a ${action.split(';')[0]} rule cannot match traffic from role;red`, hint: 'use a local source' });
    }
    const prefix = r.splitReference(dst)?.prefix ?? '';
    // A divert rule may also name an address or network (the spec's own example has Dst 0.0.0.0/0) or any.
    const divertLiteral = action.startsWith('provider;') && (dst.toLowerCase() === 'any' || c.isAddressOrCIDR(dst));
    if (dst !== '' && !divertLiteral && !RED_ONLY_DESTINATIONS.includes(dst) && !OBJECT_DESTINATIONS.includes(prefix)) {
      out.push({
        prop: 'Dst',
        message: `'${dst}' is not a valid destination for a ${action.split(';')[0]} rule`,
        hint: 'role;red, host;<k>, iprange;<k>, zone;<k> or cidr;<k>',
      });
    }
  }
  if (service.startsWith('ndpi;')) {
    for (const [prop, value] of [['Src', src], ['Dst', dst]] as const) {
      if (value.toLowerCase() === 'any' || value === 'fw') {
        out.push({ prop, message: `an nDPI rule cannot use ${prop}=${value}`, hint: 'name a network, role, zone or host' });
      }
    }
    if (action.startsWith('provider;')) out.push({ prop: 'Action', message: 'an nDPI rule cannot divert to a provider', hint: 'accept, drop or a class' });
    // Gatehouse has no nDPI: an nDPI accept is skipped with a warning, but skipping a
    // drop would let the traffic through, so such a rule is refused outright.
    if (['drop', 'reject'].includes(action.toLowerCase())) {
      out.push({ prop: 'Service', message: `an nDPI ${action.toLowerCase()} rule cannot be enforced (Gatehouse has no nDPI), and skipping it would let the traffic through`, hint: 'match the traffic by ports with a fwservice instead' });
    }
  }
  return out;
}

const PF_PROTOCOLS = ['tcp', 'udp', 'tcp,udp', 'tcpudp', 'gre', 'ah', 'esp'];
const pfProtocol: c.ValueCheck = (v) => (PF_PROTOCOLS.includes(v.toLowerCase()) ? undefined : PF_PROTOCOLS.join(', '));

/** gre, ah and esp have no ports. */
function portForwardProblems(props: Record<string, string>): RecordProblem[] {
  const proto = (props['Proto'] ?? '').toLowerCase();
  if (!['gre', 'ah', 'esp'].includes(proto)) return [];
  return ['Src', 'Dst']
    .filter((p) => (props[p] ?? '') !== '')
    .map((p) => ({ prop: p, message: `protocol ${proto} has no ports`, hint: `leave ${p} empty for gre, ah and esp` }));
}

/** fwservice Ports: ports and ranges for tcp/udp, an ICMP type for icmp, nothing else. */
function fwserviceProblems(props: Record<string, string>): RecordProblem[] {
  const protocol = props['Protocol'] ?? '';
  const ports = props['Ports'] ?? '';
  if (ports === '') return [];
  if (['tcp', 'udp', 'tcpudp'].includes(protocol)) {
    const problem = c.portList(ports);
    return problem ? [{ prop: 'Ports', message: `'${ports}' is not valid`, hint: problem }] : [];
  }
  if (protocol === 'icmp' || protocol === 'ipv6-icmp' || protocol === 'icmpv6') {
    const problem = icmpTypeProblem(protocol === 'icmp' ? 4 : 6, ports);
    return problem === undefined ? [] : [{ prop: 'Ports', message: `'${ports}' is not valid for ${protocol}`, hint: problem }];
  }
  return [{ prop: 'Ports', message: `protocol ${protocol} has no ports`, hint: 'leave Ports empty' }];
}

/** Rates are percentages when Unit is % (the default). */
function classProblems(props: Record<string, string>): RecordProblem[] {
  const unit = props['Unit'] ?? '';
  if (unit !== '' && unit !== '%') return [];
  const out: RecordProblem[] = [];
  for (const prop of ['MinInputRate', 'MaxInputRate', 'MinOutputRate', 'MaxOutputRate']) {
    const v = props[prop];
    if (v !== undefined && v !== '' && /^\d+(\.\d+)?$/.test(v) && Number(v) > 100) {
      out.push({ prop, message: `'${v}' is more than 100%`, hint: 'a percentage 0..100, or set Unit to kbit/mbit' });
    }
  }
  return out;
}

// The spec's own example keys a route by an address and gives Mask (8.8.4.4, Mask 255.255.255.255).
const routeKey: c.ValueCheck = (v) =>
  v === 'default' || c.isCIDR(v) || c.ipAddress(v) === undefined ? undefined : 'a destination network such as 10.0.0.0/24, an address (with Mask), or default';

export const SCHEMAS: Record<string, DatabaseSchema> = {
  ...API_DATABASES,
  configuration: {
    keys: {
      firewall: {
        type: 'configuration',
        schema: {
          props: {
            CheckIP: c.commaListOf(c.ipAddress, 'IP addresses'),
            Docker: c.enabledDisabled,
            ExternalPing: c.enabledDisabled,
            HairpinNat: c.enabledDisabled,
            MACValidation: c.enabledDisabled,
            MACValidationPolicy: c.oneOf('drop', 'reject', 'accept'),
            MaxNumberPacketLoss: c.integerBetween(1, 1000),
            MaxPercentPacketLoss: c.integerBetween(1, 100),
            NotifyWan: c.enabledDisabled,
            NotifyWanFrom: c.emailAddress,
            NotifyWanTo: c.emailAddress,
            PingInterval: c.integerBetween(1, 3600),
            Policy: c.oneOf('permissive', 'strict'),
            SipAlg: c.enabledDisabled,
            VpnPolicy: c.oneOf('permissive', 'strict'),
            WanMode: c.oneOf('balance', 'backup'),
            nfqueue: c.enabledDisabled,
            event: c.eventName,
          },
        },
      },
      api: { type: 'service', schema: API_CONFIGURATION },
    },
    types: {
      service: {
        props: {
          TCPPort: c.portOrRange,
          TCPPorts: c.portList,
          UDPPort: c.portOrRange,
          UDPPorts: c.portList,
          access: c.commaListOf(c.roleOrZone, 'roles or zone record keys (or none, private, public)'),
          status: c.enabledDisabled,
        },
      },
    },
  },
  networks: {
    types: {
      ethernet: interfaceRecord,
      bridge: interfaceRecord,
      bond: interfaceRecord,
      vlan: interfaceRecord,
      alias: {
        props: {
          role: c.oneOf('alias'),
          ipaddr: c.ipv4,
          netmask: c.netmask,
          ip6addr: c.ipv6WithPrefix,
          FwObjectNat: c.commaListOf(r.hostObject, 'host;<k> objects or addresses'),
        },
        key: (v) => (/^[A-Za-z0-9][A-Za-z0-9_.@-]*:\d+$/.test(v) ? undefined : 'an alias name <parent>:<n> such as eth1:0'),
      },
      xdsl: { props: { role: c.interfaceRole, FwInBandwidth: c.integerBetween(1, 100_000_000), FwOutBandwidth: c.integerBetween(1, 100_000_000) }, key: c.interfaceName },
      'xdsl-disabled': { props: { role: c.interfaceRole, FwInBandwidth: c.integerBetween(1, 100_000_000), FwOutBandwidth: c.integerBetween(1, 100_000_000) }, key: c.interfaceName },
      provider: {
        props: { interface: c.interfaceName, weight: c.integerBetween(1, 255) },
        required: ['interface'],
        key: c.objectName,
      },
      zone: {
        props: { Interface: c.interfaceName, Network: c.cidr, Network6: c.ipv6Network },
        // Without them the zone confines nobody and its hosts fall into their interface's zone.
        required: ['Interface', 'Network'],
        key: c.zoneName,
        record: zoneNetworkProblems,
      },
      network: { props: { Mask: c.netmask }, key: c.ipAddress },
    },
  },
  hosts: {
    types: {
      host: { props: { IpAddress: c.ipAddress, Ip6Address: c.ipv6Address }, key: c.objectName, record: hostAddressProblems },
      local: { props: { IpAddress: c.ipAddress, Ip6Address: c.ipv6Address, MacAddress: c.macAddress }, key: c.objectName, record: hostAddressProblems },
      remote: { props: { IpAddress: c.ipAddress, Ip6Address: c.ipv6Address }, key: c.objectName, record: hostAddressProblems },
      'host-group': { props: { Members: c.commaListOf(c.objectName, 'host keys') }, key: c.objectName },
      cidr: { props: { Address: c.cidr }, required: ['Address'], key: c.objectName },
      iprange: { props: { Start: c.ipAddress, End: c.ipAddress }, required: ['Start', 'End'], key: c.objectName, record: rangeProblems },
    },
  },
  macs: {
    types: {
      mac: { props: { Address: c.macAddress, Zone: c.roleOrZone }, required: ['Address'], key: c.objectName },
    },
  },
  fwrules: {
    types: {
      rule: {
        props: {
          Position: c.integerBetween(0, 1_000_000_000),
          Src: r.ruleSource,
          Dst: r.ruleDestination,
          Service: r.ruleService,
          Action: r.ruleAction,
          Time: r.ruleTime,
          Log: c.logLevel,
          State: c.oneOf('new', 'all'),
          status: c.enabledDisabled,
        },
        required: ['Src', 'Dst', 'Action'],
        record: ruleProblems,
      },
    },
  },
  fwservices: {
    types: {
      fwservice: {
        props: {
          Protocol: c.oneOf('tcp', 'udp', 'tcpudp', 'icmp', 'ipv6-icmp', 'icmpv6', 'gre', 'ah', 'esp'),
          Ports: c.freeText,
        },
        required: ['Protocol'],
        key: c.objectName,
        record: fwserviceProblems,
      },
    },
  },
  fwtimes: {
    types: {
      time: {
        props: { WeekDays: c.weekdays, TimeStart: c.timeOfDay, TimeStop: c.timeOfDay },
        key: c.objectName,
      },
    },
  },
  portforward: {
    types: {
      pf: {
        props: {
          Proto: pfProtocol,
          Src: c.portList,
          Dst: c.portOrSingle,
          DstHost: r.hostObject,
          SrcHost: c.commaListOf(r.hostObject, 'addresses or host objects'),
          Allow: r.allowList,
          OriDst: c.ipAddress,
          Log: c.logLevel,
          status: c.enabledDisabled,
        },
        required: ['DstHost'],
        record: portForwardProblems,
      },
    },
  },
  tc: {
    types: {
      class: {
        props: {
          Mark: c.integerBetween(1, 63),
          MinInputRate: c.nonNegativeNumber,
          MaxInputRate: c.nonNegativeNumber,
          MinOutputRate: c.nonNegativeNumber,
          MaxOutputRate: c.nonNegativeNumber,
          Unit: c.oneOf('%', 'bit', 'kbit', 'mbit', 'gbit'),
          BindTo: c.commaListOf(c.interfaceName, 'interface names'),
        },
        key: c.objectName,
        record: classProblems,
      },
    },
  },
  routes: {
    types: {
      static: {
        props: { Router: c.ipAddress, Device: c.interfaceName, Metric: c.integerBetween(0, 4_294_967_295), Mask: c.netmask },
        required: ['Router'],
        key: routeKey,
      },
    },
  },
};

/** The schema that applies to a record, if any. */
export function schemaFor(db: string, key: string, type: string): RecordSchema | undefined {
  // Own names only: a database named `constructor` has no schema.
  const dbSchema = Object.hasOwn(SCHEMAS, db) ? SCHEMAS[db] : undefined;
  if (!dbSchema) return undefined;
  const byKey = dbSchema.keys !== undefined && Object.hasOwn(dbSchema.keys, key) ? dbSchema.keys[key] : undefined;
  if (byKey && byKey.type === type) return byKey.schema;
  return Object.hasOwn(dbSchema.types, type) ? dbSchema.types[type] : undefined;
}

/**
 * Props the schema checks but the firewall does not read: they configure the network
 * itself (addresses of the gateway, bridges, boot flags) or choose the event, and are
 * validated so other tools get sound values. Everything else in SCHEMAS changes the
 * generated files or yields a warning (test/model/every-prop.test.ts proves it).
 */
export const NOT_READ_BY_FIREWALL: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  networks: {
    gateway: 'the default route of the interface (network configuration)',
    gateway6: 'the IPv6 default route of the interface (network configuration)',
    bridge: 'the bridge a bridged interface belongs to (network configuration; the bridge record carries the role)',
    master: 'the bond a slave interface belongs to (network configuration; the bond record carries the role)',
    onboot: 'whether the interface comes up at boot (network configuration)',
    nm_controlled: 'NetworkManager control (network configuration)',
    userctl: 'user control of the interface (network configuration)',
  },
  configuration: {
    event: 'which event firewall-adjust fires (see Events)',
  },
};
