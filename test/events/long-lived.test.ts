/**
 * A long-lived process runs each event exactly as a fresh process would. `gatehouse api`
 * runs /v1/events/firewall-adjust in its own process, again and again, on databases that
 * change between requests; the test files may share a worker process too. Here events run
 * in this process one after another, on two roots with different records, after database
 * changes, after a custom fragment is added, and after a run with stand-in actions; each is
 * compared with the same event run next by a fresh Node process (bin/signal-event.js) on the
 * same root: the same warnings, the same generated files, the same plan.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Database, deleteRecord, setProps, setRecord } from '../../src/db/index.js';
import { type BuiltinActions, signalEvent } from '../../src/events/index.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';
import { removeTree } from '../templates/fixtures.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

function newRoot(tag: string): string {
  const root = mkdtempSync(join(tmpdir(), `gatehouse-longlived-${tag}-`));
  made.push(root);
  return root;
}

/** A root holding the databases of a golden model scenario (test/golden/model/NAME). */
function scenarioRoot(name: string): string {
  const root = newRoot(name);
  const dbs = JSON.parse(readFileSync(join(projectDir, 'test/golden/model', name, 'databases.json'), 'utf8')) as Record<string, Database>;
  const dir = join(root, 'var/lib/gatehouse/db');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [db, records] of Object.entries(dbs)) writeFileSync(join(dir, `${db}.json`), JSON.stringify(records, null, 2) + '\n', { mode: 0o600 });
  return root;
}

/** What an event leaves that the next step reads: its warnings, the generated files and the plan. */
interface Outcome {
  warnings: string[];
  files: Record<string, string>;
}

function readTree(dir: string, into: Record<string, string>, prefix: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) readTree(file, into, `${prefix}/${name}`);
    else into[`${prefix}/${name}`] = readFileSync(file, 'utf8');
  }
}

function outcome(root: string, warnings: string[]): Outcome {
  const files: Record<string, string> = {};
  for (const dir of ['etc/shorewall', 'etc/shorewall6', 'etc/firehol']) readTree(join(root, dir), files, dir);
  const next = join(root, 'var/lib/gatehouse/plan/next');
  if (existsSync(next)) readTree(realpathSync(next), files, 'plan/next');
  return { warnings, files };
}

async function inProcess(root: string, builtinActions?: BuiltinActions): Promise<Outcome> {
  const report = await signalEvent({ root, event: 'firewall-adjust', applyMode: { kind: 'dry-run' }, ...(builtinActions ? { builtinActions } : {}) });
  return outcome(root, report.warnings);
}

/** The same event by a fresh process, on the same root (as `signal-event firewall-adjust` beside the API). */
function freshProcess(root: string): Outcome {
  const res = spawnSync(process.execPath, [join(projectDir, 'bin/signal-event.js'), '--root', root, '--apply', 'dry-run', 'firewall-adjust'], {
    encoding: 'utf8',
    env: { ...process.env, GATEHOUSE_ROOT: '', GATEHOUSE_APPLY: '' },
  });
  expect(res.status, res.stderr).toBe(0);
  const warnings = res.stderr
    .split('\n')
    .filter((l) => l.startsWith('signal-event: warning: '))
    .map((l) => l.slice('signal-event: warning: '.length));
  return outcome(root, warnings);
}

/** Runs the event here, then in a fresh process, and expects the same outcome; returns it. */
async function sameAsFresh(root: string): Promise<Outcome> {
  const here = await inProcess(root);
  const fresh = freshProcess(root);
  expect(here.warnings).toEqual(fresh.warnings);
  expect(Object.keys(here.files)).toEqual(Object.keys(fresh.files));
  for (const [file, text] of Object.entries(fresh.files)) expect(here.files[file], file).toBe(text);
  return here;
}

const GHOST = "fwrules/1/Src: ACCEPT rule skipped: refers to host 'ghost', which does not exist (create it in the hosts database or fix the reference)";
const PHANTOM = "fwrules/3/Dst: ACCEPT rule skipped: refers to host 'phantom', which does not exist (create it in the hosts database or fix the reference)";
const LAB_V4_ONLY = /^networks\/lab\/Network: zone 'lab' holds IPv4 only/;

describe('events in one long-lived process run as in a fresh process', () => {
  beforeAll(buildProjectIfStale, 180_000);

  it('two roots with different records, then each after a database change, then a custom fragment', async () => {
    const a = scenarioRoot('skipped-accept-rule');
    const b = scenarioRoot('zone-ipv6-network');

    const a1 = await sameAsFresh(a);
    expect(a1.warnings).toEqual([GHOST]);
    expect(a1.files['etc/shorewall/rules']).toContain('no direct mail');

    const b1 = await sameAsFresh(b);
    expect(b1.warnings).toHaveLength(1);
    expect(b1.warnings[0]).toMatch(LAB_V4_ONLY);
    expect(b1.files['etc/shorewall/rules']).not.toContain('no direct mail');

    // The same root after its databases changed: the old warning goes, a new one comes, a rule changes.
    await deleteRecord(a, 'fwrules', '1');
    await setRecord(a, 'fwrules', '3', 'rule', { Position: '3', Src: 'role;green', Dst: 'host;phantom', Service: 'ssh', Action: 'accept', status: 'enabled' });
    await setProps(a, 'fwrules', '2', { Service: 'smtps', Description: 'no direct mail at all' });
    const a2 = await sameAsFresh(a);
    expect(a2.warnings).toEqual([PHANTOM]);
    expect(a2.files['etc/shorewall/rules']).toContain('no direct mail at all');
    expect(a2.files['etc/shorewall/rules']).toMatch(/\b465\b/);
    expect(a2.files['etc/shorewall/rules']).not.toMatch(/\t25\b/);

    // The other root again, unchanged: exactly its first outcome.
    expect(await sameAsFresh(b)).toEqual(b1);

    // A custom fragment added to a root that already ran: it is read, and its text lands.
    const fragment = join(b, 'etc/gatehouse/templates-custom/etc/shorewall/rules/95extra');
    mkdirSync(join(fragment, '..'), { recursive: true });
    writeFileSync(fragment, '?COMMENT long-lived extra\nACCEPT\tloc\t$FW\ttcp\t2222\n');
    const b2 = await sameAsFresh(b);
    expect(b2.files['etc/shorewall/rules']).toContain('ACCEPT\tloc\t$FW\ttcp\t2222');
    expect(b2.warnings).toEqual(b1.warnings);
  }, 120_000);

  it("a run's own built-in actions end with it: the next firewall-adjust runs the shipped ones", async () => {
    const a = scenarioRoot('skipped-accept-rule');
    const fired: string[] = [];
    const standIn = await inProcess(a, { 'fire-firewall-event': async (c) => void fired.push(c.event) });
    expect(fired).toEqual(['firewall-adjust']);
    expect(standIn).toEqual({ warnings: [], files: {} });

    const after = await sameAsFresh(a);
    expect(fired).toEqual(['firewall-adjust']);
    expect(after.warnings).toEqual([GHOST]);
    expect(after.files['etc/shorewall/rules']).toContain('no direct mail');
  }, 60_000);

  it('the compiled-fragment cache folder is checked at each event, as a fresh process does', async () => {
    const a = scenarioRoot('skipped-accept-rule');
    const store = join(a, 'var/cache/gatehouse/fragments');
    const logOf = (): string => readFileSync(join(a, 'var/log/gatehouse/events.log'), 'utf8');
    const refusal = `compiled-fragment cache ${store} has mode 0777, open to others: not used`;

    await inProcess(a);
    expect(statSync(store).mode & 0o777).toBe(0o700);
    expect(logOf()).not.toContain(refusal);

    // Opened to others after the first event: refused, and said, at the next one and the one after.
    chmodSync(store, 0o777);
    await inProcess(a);
    expect(logOf().split(refusal).length - 1).toBe(1);
    await inProcess(a);
    expect(logOf().split(refusal).length - 1).toBe(2);

    // Removed, as the refusal advises: the next event makes it again, owner-only, and fills it.
    rmSync(store, { recursive: true });
    const again = await inProcess(a);
    expect(statSync(store).mode & 0o777).toBe(0o700);
    expect(readdirSync(store).length).toBeGreaterThan(0);
    expect(again.warnings).toEqual([GHOST]);
  }, 60_000);
});
