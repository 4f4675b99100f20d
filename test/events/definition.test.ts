import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadEvent, type EventDirs } from '../../src/events/index.js';
import { makeTree, removeTree } from '../templates/fixtures.js';

let base: string | undefined;
afterEach(() => {
  if (base) removeTree(base);
  base = undefined;
});

type Files = Record<string, string | { text: string; mode: number }>;
const script = (text = 'exit 0'): { text: string; mode: number } => ({ text: `#!/bin/sh\n${text}\n`, mode: 0o755 });

function setup(files: Files): EventDirs {
  base = makeTree(files);
  return { shipped: join(base, 'shipped'), custom: join(base, 'custom') };
}

describe('event definitions', () => {
  it('actions are sorted by file name, byte-wise, across shipped and custom folders', () => {
    const d = setup({ 'shipped/ev/S10b': script(), 'shipped/ev/S9c': script(), 'custom/ev/S05a': script(), 'custom/ev/S50mine': script() });
    expect(loadEvent('ev', d).actions.map((a) => a.name)).toEqual(['S05a', 'S10b', 'S50mine', 'S9c']);
  });

  it('a custom action with the same name replaces the shipped one', () => {
    const d = setup({ 'shipped/ev/S10x': script('echo shipped'), 'custom/ev/S10x': script('echo custom') });
    const [action] = loadEvent('ev', d).actions;
    expect(action).toMatchObject({ name: 'S10x', origin: 'custom', file: join(d.custom, 'ev/S10x') });
  });

  it('an empty custom action file disables the shipped action', () => {
    const d = setup({ 'shipped/ev/S10x': script(), 'shipped/ev/S20y': script(), 'custom/ev/S10x': '' });
    expect(loadEvent('ev', d).actions.map((a) => a.name)).toEqual(['S20y']);
  });

  it('a non-executable file naming a built-in action runs that action', () => {
    const d = setup({ 'shipped/ev/S20fire': '# fire the configured firewall event\nfire-firewall-event\n' });
    expect(loadEvent('ev', d).actions[0]?.run).toEqual({ kind: 'builtin', builtin: 'fire-firewall-event' });
  });

  it('templates2expand as a list and as marker files are merged and an expansion step is added at S05', () => {
    const d = setup({
      'shipped/ev/templates2expand': '# comment\n/etc/shorewall/rules\n/etc/shorewall/zones\n',
      'custom/ev/templates2expand/etc/shorewall/mine': '',
      'custom/ev/S10after': script(),
    });
    const ev = loadEvent('ev', d);
    expect(ev.templates).toEqual(['/etc/shorewall/mine', '/etc/shorewall/rules', '/etc/shorewall/zones']);
    expect(ev.actions.map((a) => a.name)).toEqual(['S05expand-templates', 'S10after']);
  });

  it('an explicit expand-templates action places the expansion instead of S05', () => {
    const d = setup({ 'shipped/ev/templates2expand': '/etc/x\n', 'shipped/ev/S30expand': 'expand-templates\n', 'shipped/ev/S10first': script() });
    expect(loadEvent('ev', d).actions.map((a) => a.name)).toEqual(['S10first', 'S30expand']);
  });

  it('an unknown built-in action name is refused, naming the file and the known actions', () => {
    const d = setup({ 'shipped/ev/S10x': 'no-such-action\n' });
    expect(() => loadEvent('ev', d)).toThrow(/unknown built-in action 'no-such-action'/);
    try {
      loadEvent('ev', d);
    } catch (e) {
      expect((e as { format(): string }).format()).toMatch(/shipped\/ev\/S10x: .*known built-in actions: .*expand-templates/);
    }
  });

  it('a script without the executable bit is refused as not executable', () => {
    const d = setup({ 'custom/ev/S10x': { text: '#!/bin/sh\necho hi\n', mode: 0o644 } });
    expect(() => loadEvent('ev', d)).toThrow(/custom action is not executable/);
  });

  it('an event folder with nothing in it is refused', () => {
    const d = setup({ 'shipped/ev/README~': 'x' });
    expect(() => loadEvent('ev', d)).toThrow(/event 'ev' has nothing to run/);
  });

  it('an unknown event is refused, listing the known ones', () => {
    const d = setup({ 'shipped/known/S10x': script() });
    expect(() => loadEvent('nope', d)).toThrow(/unknown event 'nope'/);
    try {
      loadEvent('nope', d);
    } catch (e) {
      expect((e as { hint: string }).hint).toMatch(/known events: .*known/);
    }
  });

  it('legacy names resolve to their events: lokkit-save and nethserver-firewall-base-save', () => {
    const d = setup({ 'shipped/firewall-server-save/S10x': script(), 'shipped/firewall-gateway-save/S10y': script() });
    expect(loadEvent('lokkit-save', d).name).toBe('firewall-server-save');
    expect(loadEvent('nethserver-firewall-base-save', d).name).toBe('firewall-gateway-save');
  });

  it('an event name with a slash or .. is refused', () => {
    const d = setup({ 'shipped/ev/S10x': script() });
    expect(() => loadEvent('../ev', d)).toThrow(/invalid event name/);
  });
});
