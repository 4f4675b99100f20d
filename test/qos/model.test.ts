import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { GatehouseError } from '../../src/errors/index.js';
import { buildQosModel } from '../../src/qos/index.js';

const rec = (type: string, props: Record<string, string>) => ({ type, props });

function dbs(extra: { networks?: Database; tc?: Database; fwrules?: Database; hosts?: Database; fwservices?: Database; configuration?: Database } = {}) {
  return {
    networks: {
      green0: rec('ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' }),
      red0: rec('ethernet', { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', FwInBandwidth: '10000', FwOutBandwidth: '8000' }),
      red1: rec('ethernet', { role: 'red', bootproto: 'none', ipaddr: '198.51.100.2', netmask: '255.255.255.0', FwInBandwidth: '5000', FwOutBandwidth: '5000' }),
      isp1: rec('provider', { interface: 'red0', weight: '1' }),
      ...extra.networks,
    },
    tc: extra.tc ?? {
      high: rec('class', { Mark: '2', MinInputRate: '10', MinOutputRate: '10' }),
      low: rec('class', { Mark: '3', MaxInputRate: '20', MaxOutputRate: '20' }),
    },
    fwrules: extra.fwrules ?? {},
    hosts: extra.hosts ?? { backup: rec('host', { IpAddress: '198.51.100.7' }) },
    fwservices: extra.fwservices ?? { iperf: rec('fwservice', { Protocol: 'tcp', Ports: '5201' }) },
    configuration: extra.configuration ?? {},
  };
}

function failure(input: ReturnType<typeof dbs>): string {
  try {
    buildQosModel(input);
  } catch (e) {
    if (e instanceof GatehouseError) return e.format();
    throw e;
  }
  throw new Error('the model was built');
}

describe('fireqos.conf from the tc classes and the red interfaces', () => {
  it('each red interface with both bandwidths gets an output and an input block, classes in key order, the provider name', () => {
    const m = buildQosModel(dbs());
    expect(m.fireqos.map((b) => b.lines[0])).toEqual([
      'interface46 red0 isp1-out output rate 8000kbit ethernet balanced qdisc ${GATEHOUSE_LEAF_QDISC}',
      'interface46 red1 red-red1-out output rate 5000kbit ethernet balanced qdisc ${GATEHOUSE_LEAF_QDISC}',
    ]);
    expect(m.fireqos[0]?.lines).toEqual([
      'interface46 red0 isp1-out output rate 8000kbit ethernet balanced qdisc ${GATEHOUSE_LEAF_QDISC}',
      '\tclass high commit 10%',
      '\t\tif [ -n "${GATEHOUSE_U32_MARK-}" ]; then match connmark 2; fi',
      '\tclass low ceil 20%',
      '\t\tif [ -n "${GATEHOUSE_U32_MARK-}" ]; then match connmark 3; fi',
      'interface46 red0 isp1-in input rate 10000kbit ethernet balanced qdisc ${GATEHOUSE_LEAF_QDISC}',
      '\tclass high commit 10%',
      '\t\tif [ -n "${GATEHOUSE_U32_MARK-}" ]; then match connmark 2; fi',
      '\tclass low ceil 20%',
      '\t\tif [ -n "${GATEHOUSE_U32_MARK-}" ]; then match connmark 3; fi',
    ]);
    expect(m.leafQdisc).toBe('fq_codel');
  });

  it('Mark 63 is the number itself, units other than % are kept, TCLinklayer is honoured', () => {
    const m = buildQosModel(
      dbs({
        tc: { top: rec('class', { Mark: '63', MinOutputRate: '2000', MaxInputRate: '4', Unit: 'mbit' }) },
        networks: { red1: rec('ethernet', { role: 'red', ipaddr: '198.51.100.2', netmask: '255.255.255.0', FwInBandwidth: '5000', FwOutBandwidth: '5000', TCLinklayer: 'atm' }) },
      }),
    );
    expect(m.fireqos[1]?.lines).toContain('\tclass top commit 2000mbit');
    expect(m.fireqos[1]?.lines).toContain('\t\tif [ -n "${GATEHOUSE_U32_MARK-}" ]; then match connmark 63; fi');
    expect(m.fireqos[1]?.lines[0]).toBe('interface46 red1 red-red1-out output rate 5000kbit atm balanced qdisc ${GATEHOUSE_LEAF_QDISC}');
  });

  it('TCLinklayer: ethernet by default, ADSL as ATM cells, VDSL2 as Ethernet framing, none leaves it out', () => {
    const first = (TCLinklayer?: string) =>
      buildQosModel(
        dbs({
          tc: {},
          networks: { red1: rec('ethernet', { role: 'red', ipaddr: '198.51.100.2', netmask: '255.255.255.0', FwInBandwidth: '5000', FwOutBandwidth: '1000', ...(TCLinklayer ? { TCLinklayer } : {}) }) },
        }),
      ).fireqos.find((b) => b.lines[0]!.includes('red1'))!.lines[0];
    expect(first()).toBe('interface46 red1 red-red1-out output rate 1000kbit ethernet balanced qdisc ${GATEHOUSE_LEAF_QDISC}');
    expect(first('adsl')).toMatch(/rate 1000kbit atm balanced/);
    expect(first('vdsl2')).toMatch(/rate 1000kbit ethernet balanced/);
    expect(first('none')).toMatch(/rate 1000kbit balanced/);
    expect(() => first('token-ring')).toThrow(/TCLinklayer 'token-ring' is not a link layer/);
  });

  it('BindTo limits a class to the named red interfaces', () => {
    const m = buildQosModel(dbs({ tc: { low: rec('class', { Mark: '3', MaxOutputRate: '20', BindTo: 'red1' }) } }));
    expect(m.interfaces.map((i) => [i.device, i.classes.map((c) => c.name)])).toEqual([
      ['red0', []],
      ['red1', ['low']],
    ]);
  });

  it('an interface without both bandwidths is not shaped; a class without rates or Mark is left out with a warning', () => {
    const m = buildQosModel(
      dbs({
        networks: { red1: rec('ethernet', { role: 'red', ipaddr: '198.51.100.2', netmask: '255.255.255.0', FwInBandwidth: '5000' }) },
        tc: { idle: rec('class', { Mark: '4' }), nomark: rec('class', { MaxOutputRate: '10' }) },
        fwrules: { 1: rec('rule', { Src: 'any', Dst: 'role;red', Service: 'any', Action: 'class;nomark', status: 'enabled' }) },
      }),
    );
    expect(m.interfaces.map((i) => i.device)).toEqual(['red0']);
    expect(m.interfaces[0]?.classes).toEqual([]);
    expect(m.warnings).toContain('tc/idle: the class has no rate (MinInputRate, MaxInputRate, MinOutputRate, MaxOutputRate), so FireQOS does not shape it');
    expect(m.warnings.some((w) => w.startsWith("fwrules/1: class 'nomark' has no Mark"))).toBe(true);
  });
});

describe('class rules become mangle rows and inbound matches', () => {
  it("NethServer's mapping: :T after routing, the firewall in OUTPUT, the role's network as source, ports per protocol", () => {
    const m = buildQosModel(
      dbs({
        fwrules: {
          8: rec('rule', { Src: 'role;green', Dst: 'role;red', Service: 'fwservice;iperf', Action: 'class;low', status: 'enabled', Position: '2' }),
          9: rec('rule', { Src: 'fw', Dst: 'host;backup', Service: 'any', Action: 'class;high', status: 'enabled', Position: '1', Description: 'backups first' }),
          10: rec('rule', { Src: 'any', Dst: 'role;red', Service: 'any', Action: 'class;high', status: 'disabled' }),
        },
      }),
    );
    expect(m.mangle.ipv4).toMatchObject([
      { comment: 'backups first', rows: [{ cells: ['MARK(2/0x3f)', '$FW', '198.51.100.7'], line: 'MARK(2/0x3f)\t$FW\t198.51.100.7' }] },
      { comment: 'RULE 8 fwservice iperf', rows: [{ cells: ['MARK(3/0x3f):T', '192.168.1.0/24', '-', 'tcp', '5201'], line: 'MARK(3/0x3f):T\t192.168.1.0/24\t-\ttcp\t5201' }] },
    ]);
    const low = m.interfaces[0]?.classes.find((c) => c.name === 'low');
    expect(low?.inboundMatches).toEqual(['match proto tcp sport 5201']);
    expect(low?.inboundComplete).toBe(true);
    const high = m.interfaces[0]?.classes.find((c) => c.name === 'high');
    expect(high?.inboundMatches).toEqual(['match4 src 198.51.100.7']);
    expect(m.connmarkOnly).toEqual([]);
  });

  it('a class whose rules cannot be recognised on the way in is listed as needing act_connmark', () => {
    const m = buildQosModel(dbs({ fwrules: { 1: rec('rule', { Src: 'role;green', Dst: 'role;red', Service: 'any', Action: 'class;low', status: 'enabled' }) } }));
    expect(m.connmarkOnly).toEqual(['high', 'low']);
    const lines = m.fireqos[0]?.lines ?? [];
    expect(lines.slice(lines.indexOf('interface46 red0 isp1-in input rate 10000kbit ethernet balanced qdisc ${GATEHOUSE_LEAF_QDISC}'))).toContain('\t\tif [ -n "${GATEHOUSE_U32_MARK-}" ]; then match connmark 3; fi');
  });

  it('a class rule naming a missing class is refused, naming the record', () => {
    expect(failure(dbs({ fwrules: { 7: rec('rule', { Src: 'any', Dst: 'role;red', Service: 'any', Action: 'class;nope', status: 'enabled' }) } }))).toMatch(
      /^fwrules\/7\/Action: refers to class 'nope', which does not exist/,
    );
  });

  it('two classes with one Mark, a BindTo naming no red interface, and an unknown leaf qdisc are refused', () => {
    expect(failure(dbs({ tc: { a: rec('class', { Mark: '5' }), b: rec('class', { Mark: '5' }) } }))).toMatch(/^tc\/b\/Mark: Mark 5 is also the Mark of class 'a'/);
    expect(failure(dbs({ tc: { a: rec('class', { Mark: '5', BindTo: 'green0' }) } }))).toMatch(/^tc\/a\/BindTo: BindTo names 'green0', which is not a red interface/);
    expect(failure(dbs({ configuration: { firewall: rec('configuration', { TcLeafQdisc: 'cake' }) } }))).toMatch(/TcLeafQdisc 'cake' is not a leaf qdisc/);
  });
});

describe('class rules with a time window', () => {
  it('are in the configured TimeZone, as filter rules are (before, the event compiled them as if local time were UTC)', () => {
    const input = {
      ...dbs({
        fwrules: { 1: rec('rule', { Src: 'role;green', Dst: 'role;red', Service: 'any', Action: 'class;low', Time: 'time;office', status: 'enabled' }) },
        configuration: { TimeZone: rec('Asia/Tokyo', {}) },
      }),
      fwtimes: { office: rec('time', { WeekDays: 'Mon', TimeStart: '10:00', TimeStop: '12:00' }) },
    };
    const m = buildQosModel(input);
    expect(m.mangle.ipv4.flatMap((g) => g.rows.map((r) => r.cells.at(-1)))).toEqual(['utc&weekdays=Mon&timestart=01:00&timestop=03:00']);
  });
});
