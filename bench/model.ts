/**
 * Model + template expansion for a large gateway: 5,000 fwrules, 1,000 hosts,
 * 200 host-groups and 500 port forwards. Prints buildModel alone and buildModel plus
 * rendering every gateway target, cold (the first run of a fresh process, as an event
 * pays it; median over several processes) and warm (median of later runs in one process).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Database } from '../src/db/index.js';
import { shippedPaths } from '../src/layout/index.js';
import { GATEWAY_TARGETS, buildModel } from '../src/model/index.js';
import { renderTarget } from '../src/templates/index.js';
import { median } from './_measure.js';

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

const options = { timeZone: 'Europe/Rome', now: new Date('2026-01-15T12:00:00Z') };
const dirs = { shipped: shippedPaths().templates, custom: '/nonexistent/templates-custom' };
const RUNS = 9;
const COLD_RUNS = 5;

interface Run {
  model: number;
  full: number;
  /** CPU time (user + system) of model + render, in ms. */
  cpu: number;
  lines: number;
}

function once(dbs: Record<string, Database>): Run {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const model = buildModel(dbs, options);
  const t1 = performance.now();
  const context = { ...model, db: dbs };
  let lines = 0;
  for (const target of GATEWAY_TARGETS) lines += renderTarget(target, context, dirs).split('\n').length;
  const t2 = performance.now();
  const c = process.cpuUsage(c0);
  return { model: t1 - t0, full: t2 - t0, cpu: (c.user + c.system) / 1000, lines };
}

const fmt = (ms: number): string => `${ms.toFixed(1).padStart(7)} ms`;

if (process.argv.includes('--cold')) {
  // Child: exactly what an event pays, the first model + render in a fresh process.
  process.stdout.write(JSON.stringify(once(largeDatabases())) + '\n');
} else {
  const cold: Run[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--cold'], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`cold run failed: ${child.stderr}`);
    cold.push(JSON.parse(child.stdout) as Run);
  }
  const dbs = largeDatabases();
  const warm: Run[] = [];
  for (let i = 0; i < RUNS + 1; i++) warm.push(once(dbs));
  warm.shift(); // the first in-process run is a cold one; measured above
  const m = (runs: Run[], k: keyof Run): number => median(runs.map((r) => r[k]));
  console.log(`input: 5000 fwrules, 1000 hosts, 200 host-groups, 500 port forwards; ${GATEWAY_TARGETS.length} targets, ${warm[0]?.lines} lines out`);
  console.log(`cold (first run in a fresh process, fragment compilation and JIT warm-up included; what an event pays), median of ${COLD_RUNS} processes:`);
  console.log(`${fmt(m(cold, 'model'))}  buildModel alone`);
  console.log(`${fmt(m(cold, 'full'))}  buildModel + render all targets (goal < 300 ms); CPU ${fmt(m(cold, 'cpu'))}`);
  console.log(`warm (same process, after the first run), median of ${RUNS}:`);
  console.log(`${fmt(m(warm, 'model'))}  buildModel alone`);
  console.log(`${fmt(m(warm, 'full'))}  buildModel + render all targets (goal < 300 ms); CPU ${fmt(m(warm, 'cpu'))}`);
}
