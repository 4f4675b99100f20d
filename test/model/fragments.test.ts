import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { loadScenario, renderAll, writeRendered } from './render.js';
import { shorewallCheck, shorewallCheckSkipReason } from './shorewall-check.js';

const why = shorewallCheckSkipReason();
if (why) console.warn('skipped shorewall check: ' + why);
const scratch = mkdtempSync(join(tmpdir(), 'gh-model-fragments-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const scenario = loadScenario('nethserver7-examples');

async function checkBoth(dir: string): Promise<void> {
  const [v4, v6] = await shorewallCheck([
    { program: 'shorewall', dir: join(dir, 'etc/shorewall') },
    { program: 'shorewall6', dir: join(dir, 'etc/shorewall6') },
  ]);
  expect(v4?.ok, v4?.output).toBe(true);
  expect(v6?.ok, v6?.output).toBe(true);
}

describe('custom fragments', () => {
  const custom = join(scratch, 'templates-custom');
  mkdirSync(join(custom, 'etc/shorewall/rules'), { recursive: true });
  writeFileSync(join(custom, 'etc/shorewall/rules/40block-mac'), 'DROP\tloc:~00-11-22-33-44-55\tnet\n');
  writeFileSync(join(custom, 'etc/shorewall/rules/20ping'), '');
  const files = renderAll(scenario.databases, scenario.options, custom);
  const lines = (files['/etc/shorewall/rules'] ?? '').split('\n');

  it('a custom fragment appears at its place, after DNS and before the port forwards', () => {
    const custom = lines.indexOf('DROP\tloc:~00-11-22-33-44-55\tnet');
    expect(custom).toBeGreaterThan(lines.indexOf('DNS(ACCEPT)\t$FW\tnet'));
    expect(custom).toBeLessThan(lines.findIndex((l) => l.startsWith('DNAT')));
  });

  it('an empty custom fragment disables the shipped one of the same name', () => {
    expect(lines.filter((l) => l.startsWith('Ping('))).toEqual([]);
    expect(files['/etc/shorewall6/rules']).toContain('Ping(ACCEPT)\tnet\t$FW');
  });

  it.skipIf(why)('the customised directory still passes shorewall check', async () => {
    const dir = join(scratch, 'custom-out');
    writeRendered(dir, files);
    await checkBoth(dir);
  });
});

const HOSTILE = [
  '# not a comment',
  '?COMMENT injected',
  '$FW all ACCEPT',
  'tab\there\tACCEPT\tnet\t$FW',
  'x'.repeat(5000),
  'unicode 日本語 ✓ ñ 🔥',
  '`reboot` $(reboot) ${IFS}',
  '{action:ACCEPT, source:net, dest:$FW}',
  '"quoted" \'single\' ; \\ backslash',
  '?SECTION NEW',
];

/** Every free-text prop of every record (Description and UI labels) set to one value. */
function withFreeText(dbs: Record<string, Database>, value: string): Record<string, Database> {
  const out: Record<string, Database> = {};
  for (const [name, db] of Object.entries(dbs)) {
    out[name] = {};
    for (const [key, record] of Object.entries(db)) {
      out[name][key] = { type: record.type, props: { ...record.props, Description: value, nslabel: value } };
    }
  }
  return out;
}

function ruleLines(files: Record<string, string>): string[] {
  return Object.entries(files)
    .flatMap(([target, text]) => text.split('\n').map((l) => `${target} ${l}`))
    .filter((l) => !/^\S+ (#|\?COMMENT)/.test(l))
    .sort();
}

const CONTROL = /[\u0000-\u001f]/;

describe('hostile free text cannot change generated rules', () => {
  const baseline = ruleLines(renderAll(scenario.databases, scenario.options));

  // db refuses control characters in every value, and the model reads through the same schema.
  it('a Description with a control character is refused, as db refuses it', () => {
    expect(() => renderAll(withFreeText(scenario.databases, 'tab\there\tACCEPT'), scenario.options)).toThrow(/holds a control character or line break/);
  });

  it.each(HOSTILE.filter((v) => !CONTROL.test(v)).map((v) => [v.slice(0, 40), v]))('Description %j leaves every rule line unchanged', (_label, value) => {
    const files = renderAll(withFreeText(scenario.databases, value), scenario.options);
    expect(ruleLines(files)).toEqual(baseline);
    for (const text of Object.values(files)) {
      for (const line of text.split('\n').filter((l) => l.startsWith('?COMMENT '))) {
        expect(line.length).toBeLessThan(100);
        expect(line.slice(9)).not.toMatch(/[#$\t?`{};\\"']/);
      }
    }
  });

  it.skipIf(why)('files full of hostile descriptions still pass shorewall check', async () => {
    const dir = join(scratch, 'hostile-out');
    writeRendered(dir, renderAll(withFreeText(scenario.databases, HOSTILE.filter((v) => !CONTROL.test(v)).join(' ')), scenario.options));
    await checkBoth(dir);
  });
});
