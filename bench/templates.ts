/**
 * Template expansion: one target made of 20 fragments over a database of 5,000 records,
 * rendered inside one process (fragments compiled once, as in signal-event).
 * Figures: cold first render (includes compiling), warm render median, render + atomic
 * write median, and as the baseline the same text built by a hand-written TypeScript loop.
 * A stress variant has every fragment walk all 5,000 records.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Database } from '../src/db/index.js';
import { expandTargets, renderTarget, type TemplateContext, type TemplateDirs } from '../src/templates/index.js';
import { median } from './_measure.js';

const RECORDS = 5_000;
const FRAGMENTS = 20;
const RUNS = 15;

function makeDatabase(): Record<string, Database> {
  const hosts: Database = {};
  for (let i = 0; i < RECORDS; i++) {
    const key = `host${String(i).padStart(5, '0')}`;
    hosts[key] = {
      type: i % 10 === 0 ? 'zone' : 'host',
      props: { IpAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, Description: `machine number ${i}` },
    };
  }
  return {
    hosts,
    configuration: { firewall: { type: 'firewall', props: { Policy: 'strict', ExternalPing: 'enabled', MACValidation: 'disabled' } } },
  };
}

const LOOP = '{{#each db.hosts}}\n{{#if (eq this.type "host")}}\nACCEPT\tloc:{{this.props.IpAddress}}\tnet\t# {{@key}} {{this.props.Description}}\n{{/if}}\n{{/each}}\n';
const SMALL = (i: number): string => `# fragment ${i}\n?COMMENT policy {{db.configuration.firewall.props.Policy}} ping {{default db.configuration.firewall.props.ExternalPing "disabled"}}\n`;

function writeFragments(dir: string, loops: number): TemplateDirs {
  const shipped = join(dir, `shipped-${loops}`);
  const folder = join(shipped, 'etc/shorewall/rules');
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < FRAGMENTS; i++) {
    // Spread the record-walking fragments among the small ones.
    const walks = i % Math.ceil(FRAGMENTS / loops) === 0 && i / Math.ceil(FRAGMENTS / loops) < loops;
    writeFileSync(join(folder, `${String(i * 5).padStart(2, '0')}part.hbs`), walks ? LOOP : SMALL(i));
  }
  return { shipped, custom: join(dir, 'custom') };
}

function handWritten(context: TemplateContext, loops: number): string {
  const fw = context.db['configuration']!['firewall']!.props;
  let out = '';
  const step = Math.ceil(FRAGMENTS / loops);
  for (let i = 0; i < FRAGMENTS; i++) {
    if (i % step === 0 && i / step < loops) {
      for (const [key, rec] of Object.entries(context.db['hosts']!)) {
        if (rec.type === 'host') out += `ACCEPT\tloc:${rec.props['IpAddress']}\tnet\t# ${key} ${rec.props['Description']}\n`;
      }
    } else {
      out += `# fragment ${i}\n?COMMENT policy ${fw['Policy']} ping ${fw['ExternalPing'] || 'disabled'}\n`;
    }
  }
  return out;
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function scenario(label: string, dir: string, context: TemplateContext, loops: number): Promise<void> {
  const dirs = writeFragments(dir, loops);
  const root = join(dir, `root-${loops}`);
  const cold = time(() => renderTarget('/etc/shorewall/rules', context, dirs));
  const expected = handWritten(context, loops);
  const text = renderTarget('/etc/shorewall/rules', context, dirs);
  if (text !== expected) throw new Error(`${label}: template output differs from the hand-written baseline`);
  const warm: number[] = [];
  const write: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    warm.push(time(() => renderTarget('/etc/shorewall/rules', context, dirs)));
    // Alternate the databases so every write really replaces the file.
    const hosts = i % 2 === 0 ? context.db['hosts']! : { ...context.db['hosts']!, zz: { type: 'host', props: { IpAddress: '10.255.255.255' } } };
    write.push(await timeAsync(() => expandTargets(root, ['/etc/shorewall/rules'], { db: { ...context.db, hosts } }, { dirs })));
    base.push(time(() => handWritten(context, loops)));
  }
  const lines = text.split('\n').length - 1;
  const fmt = (ms: number): string => `${ms.toFixed(2).padStart(8)} ms`;
  console.log(`${label}: ${FRAGMENTS} fragments (${loops} walking all ${RECORDS} records), ${lines} output lines, ${(text.length / 1024).toFixed(0)} KiB`);
  console.log(`  cold render (compile + render)  ${fmt(cold)}`);
  console.log(`  warm render, median of ${RUNS}       ${fmt(median(warm))}   goal < 50 ms: ${median(warm) < 50 ? 'met' : 'NOT met'}`);
  console.log(`  render + atomic write, median   ${fmt(median(write))}`);
  console.log(`  baseline hand-written TS loop   ${fmt(median(base))}`);
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-templates-'));
try {
  const context: TemplateContext = { db: makeDatabase() };
  await scenario('typical', dir, context, 4);
  await scenario('stress', dir, context, 20);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
