/**
 * Model + template expansion for a large gateway: 5,000 fwrules, 1,000 hosts,
 * 200 host-groups and 500 port forwards. Prints the median of several runs of
 * buildModel alone and of buildModel plus rendering every gateway target.
 */
import { performance } from 'node:perf_hooks';
import type { Database } from '../src/db/index.js';
import { shippedPaths } from '../src/layout/index.js';
import { GATEWAY_TARGETS, buildModel } from '../src/model/index.js';
import { renderTarget } from '../src/templates/index.js';

function largeDatabases(): Record<string, Database> {
  const networks: Database = {
    eth0: { type: 'ethernet', props: { role: 'green', bootproto: 'none', ipaddr: '192.168.0.1', netmask: '255.255.240.0', ip6addr: '2001:db8:1::1/64' } },
    eth1: { type: 'ethernet', props: { role: 'red', bootproto: 'none', ipaddr: '1.2.3.4', netmask: '255.255.255.0' } },
    eth2: { type: 'ethernet', props: { role: 'blue', bootproto: 'none', ipaddr: '192.168.32.1', netmask: '255.255.255.0' } },
    eth3: { type: 'ethernet', props: { role: 'orange', bootproto: 'none', ipaddr: '192.168.64.1', netmask: '255.255.255.0' } },
  };
  const hosts: Database = {};
  for (let i = 0; i < 1000; i++) {
    const ip = i % 10 === 9 ? `2001:db8:1::${(i + 16).toString(16)}` : i % 3 === 0 ? `192.168.64.${(i % 250) + 2}` : `192.168.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    hosts[`h${i}`] = { type: 'host', props: { IpAddress: ip, Description: `host ${i}` } };
  }
  for (let g = 0; g < 200; g++) {
    hosts[`g${g}`] = { type: 'host-group', props: { Members: [0, 1, 2, 3, 4].map((k) => `h${(g * 5 + k) % 1000}`).join(',') } };
  }
  const fwservices: Database = {
    web: { type: 'fwservice', props: { Protocol: 'tcp', Ports: '80,443' } },
    dns: { type: 'fwservice', props: { Protocol: 'tcpudp', Ports: '53' } },
  };
  const fwtimes: Database = { office: { type: 'time', props: { WeekDays: 'Mon,Tue,Wed,Thu,Fri', TimeStart: '08:00', TimeStop: '18:00' } } };
  const fwrules: Database = {};
  const services = ['fwservice;web', 'fwservice;dns', 'any', '8080', 'ssh'];
  fwservices['ssh'] = { type: 'fwservice', props: { Protocol: 'tcp', Ports: '22' } };
  for (let r = 0; r < 5000; r++) {
    const src = r % 4 === 0 ? `host-group;g${r % 200}` : r % 4 === 1 ? `host;h${r % 1000}` : r % 4 === 2 ? 'role;green' : 'any';
    const dst = r % 5 === 0 ? 'role;red' : r % 5 === 1 ? `host;h${(r * 7) % 1000}` : r % 5 === 2 ? 'fw' : `host-group;g${(r * 3) % 200}`;
    fwrules[`${r + 1}`] = {
      type: 'rule',
      props: { Position: `${(r * 37) % 5000}`, Src: src, Dst: dst === src ? 'role;red' : dst, Service: services[r % services.length] ?? 'any', Action: r % 3 === 0 ? 'drop' : 'accept', Log: r % 7 === 0 ? 'info' : 'none', ...(r % 50 === 0 ? { Time: 'time;office' } : {}), Description: `rule ${r}` },
    };
  }
  const portforward: Database = {};
  for (let p = 0; p < 500; p++) {
    portforward[`${p + 1}`] = { type: 'pf', props: { Proto: 'tcp', Src: `${10000 + p}`, Dst: '22', DstHost: `host;h${(p * 3) % 999 === 9 ? 0 : (p * 3) % 990}`, Description: `pf ${p}` } };
  }
  const configuration: Database = { firewall: { type: 'configuration', props: { HairpinNat: 'enabled', MACValidation: 'enabled' } } };
  return { configuration, networks, hosts, fwservices, fwtimes, fwrules, portforward };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const dbs = largeDatabases();
const options = { timeZone: 'Europe/Rome', now: new Date('2026-01-15T12:00:00Z') };
const dirs = { shipped: shippedPaths().templates, custom: '/nonexistent/templates-custom' };
const RUNS = 9;

const modelTimes: number[] = [];
const fullTimes: number[] = [];
let lines = 0;
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const model = buildModel(dbs, options);
  const t1 = performance.now();
  const context = { ...model, db: dbs };
  lines = 0;
  for (const target of GATEWAY_TARGETS) lines += renderTarget(target, context, dirs).split('\n').length;
  const t2 = performance.now();
  modelTimes.push(t1 - t0);
  fullTimes.push(t2 - t0);
}

console.log(`input: 5000 fwrules, 1000 hosts, 200 host-groups, 500 port forwards; ${GATEWAY_TARGETS.length} targets, ${lines} lines out`);
console.log(`first run (cold, includes fragment compilation): ${fullTimes[0]?.toFixed(1)} ms`);
console.log(`buildModel alone, median of ${RUNS}: ${median(modelTimes).toFixed(1)} ms`);
console.log(`buildModel + render all targets, median of ${RUNS}: ${median(fullTimes).toFixed(1)} ms (goal < 300 ms)`);
