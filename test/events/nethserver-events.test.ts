import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BuiltinActions, loadEvent, signalEvent } from '../../src/events/index.js';
import { shippedPaths } from '../../src/layout/index.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';
import { removeTree } from '../templates/fixtures.js';

// Event names NethServer 7 packages and administrators fire, and what each does here.
const ADJUSTING = [
  'interface-update',
  'nethserver-firewall-base-update',
  'firewall-objects-modify',
  'static-routes-save',
  'host-create',
  'host-modify',
  'host-delete',
  'trusted-networks-modify',
  'post-restore-config',
];
const NOTE_ONLY = ['runlevel-adjust', 'nethserver-lsm-update'];

let root: string | undefined;
afterEach(() => {
  if (root) removeTree(root);
  root = undefined;
});
const newRoot = (): string => (root = mkdtempSync(join(tmpdir(), 'gatehouse-nsevents-')));
const eventDirs = (r: string) => ({ shipped: shippedPaths().events, custom: join(r, 'etc/gatehouse/events'), root: r });

describe('NethServer event names', () => {
  it.each(ADJUSTING)('%s runs firewall-adjust with its own name first, then its arguments', async (name) => {
    const r = newRoot();
    const fired: string[][] = [];
    // This run's own stand-ins: the next event in this process runs the shipped actions again.
    const builtinActions: BuiltinActions = {
      'fire-firewall-event': async (c) => void fired.push([c.event, ...c.args]),
      'initialize-default-databases': async () => void fired.push(['defaults']),
    };
    await signalEvent({ root: r, event: name, args: ['web'], eventDirs: eventDirs(r), applyMode: { kind: 'dry-run' }, builtinActions });
    const expected = name === 'nethserver-firewall-base-update' ? [['defaults'], [name, 'web']] : [[name, 'web']];
    expect(fired).toEqual(expected);
  });

  it.each(NOTE_ONLY)('%s does nothing and says why in one line of the event log', async (name) => {
    const r = newRoot();
    const seen: string[] = [];
    await signalEvent({ root: r, event: name, eventDirs: eventDirs(r), applyMode: { kind: 'dry-run' }, echo: (l) => seen.push(l) });
    const notes = seen.filter((l) => l.includes('nothing to do'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(new RegExp(`${name}: nothing to do: on NethServer it .*; (Gatehouse|here)`));
  });

  it('every listed event is a shipped folder whose actions load (firewall-adjust through fire-firewall-event)', () => {
    const dirs = { shipped: shippedPaths().events, custom: '/nonexistent' };
    for (const name of ADJUSTING) {
      const actions = loadEvent(name, dirs).actions.map((a) => (a.run.kind === 'builtin' ? a.run.builtin : a.name));
      expect(actions.at(-1)).toBe('fire-firewall-event');
    }
    for (const name of NOTE_ONLY) expect(loadEvent(name, dirs).actions.map((a) => a.name)).toEqual(['S10nethserver-event-note']);
  });
});

describe('signal-event command line, as NethServer scripts call it', () => {
  beforeAll(buildProjectIfStale, 180_000);
  const bin = join(projectDir, 'bin/signal-event.js');
  const env = { ...process.env, GATEHOUSE_ROOT: '', GATEHOUSE_APPLY: '' };

  it('-j is accepted and ignored: host-create adjusts the firewall (dry run) and prints no JSON', () => {
    const r = newRoot();
    const res = spawnSync(process.execPath, [bin, '-j', '--root', r, '--apply', 'dry-run', 'host-create', 'web'], { encoding: 'utf8', env });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).not.toMatch(/^\{"(event|action|status)"/m); // no NethServer progress JSON
    const log = readFileSync(join(r, 'var/log/gatehouse/events.log'), 'utf8');
    expect(log).toMatch(/Event: firewall-gateway-save \["host-create","web"\]/);
    expect(log).toMatch(/Event: host-create SUCCESS/);
  }, 60_000);

  it('--json after other options, and -v shows the note of runlevel-adjust', () => {
    const r = newRoot();
    const res = spawnSync(process.execPath, [bin, '--root', r, '--json', '-v', 'runlevel-adjust'], { encoding: 'utf8', env });
    expect(res.status).toBe(0);
    expect(res.stderr).toMatch(/runlevel-adjust: nothing to do: /);
  });
});
