import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatehouseError } from '../../src/errors/index.js';
import { type BuiltinActions, signalEvent, type EventDirs } from '../../src/events/index.js';
import { shippedPaths } from '../../src/layout/index.js';
import { makeTree, removeTree, writeTree } from '../templates/fixtures.js';

let base: string | undefined;
afterEach(() => {
  if (base) removeTree(base);
  base = undefined;
});

type Files = Record<string, string | { text: string; mode: number }>;
const script = (text: string): { text: string; mode: number } => ({ text: `#!/bin/sh\n${text}\n`, mode: 0o755 });

function setup(files: Files): { root: string; eventDirs: EventDirs; templateDirs: { shipped: string; custom: string } } {
  base = makeTree(files);
  const root = join(base, 'root');
  mkdirSync(root, { recursive: true });
  return {
    root,
    eventDirs: { shipped: join(base, 'events'), custom: join(root, 'etc/gatehouse/events') },
    templateDirs: { shipped: join(base, 'templates'), custom: join(root, 'etc/gatehouse/templates-custom') },
  };
}

const traceLine = (tag: string): string => `echo "${tag} $*" >> "$GATEHOUSE_ROOT/trace"`;
const trace = (root: string): string[] => (existsSync(join(root, 'trace')) ? readFileSync(join(root, 'trace'), 'utf8').trim().split('\n') : []);
const eventLog = (root: string): string => readFileSync(join(root, 'var/log/gatehouse/events.log'), 'utf8');

describe('signalEvent', () => {
  it('a custom action gets the event name, the arguments and GATEHOUSE_ROOT', async () => {
    const s = setup({ 'events/ev/S10show': script('echo "$0|$1|$2|$3|$GATEHOUSE_ROOT|$GATEHOUSE_APPLY" > "$GATEHOUSE_ROOT/seen"') });
    await signalEvent({ root: s.root, event: 'ev', args: ['one', '--two'], eventDirs: s.eventDirs, applyMode: { kind: 'dry-run' } });
    expect(readFileSync(join(s.root, 'seen'), 'utf8')).toBe(`${join(s.eventDirs.shipped, 'ev/S10show')}|ev|one|--two|${s.root}|dry-run\n`);
  });

  it('built-in and custom actions run in name order', async () => {
    const builtinActions: BuiltinActions = {
      'test-record': async (c) => {
        writeFileSync(join(c.root, 'trace'), `builtin ${c.event} ${c.args.join(' ')}\n`, { flag: 'a' });
      },
    };
    const s = setup({
      'events/ev/S30last': script(traceLine('S30')),
      'events/ev/S20builtin': 'test-record\n',
      'root/etc/gatehouse/events/ev/S10first': script(traceLine('S10')),
    });
    await signalEvent({ root: s.root, event: 'ev', args: ['a'], eventDirs: s.eventDirs, builtinActions });
    expect(trace(s.root)).toEqual(['S10 ev a', 'builtin ev a', 'S30 ev a']);
  });

  it('the first failing action stops the event and is named with its exit code and last output', async () => {
    const s = setup({
      'events/ev/S10ok': script(traceLine('S10')),
      'events/ev/S20bad': script('echo "cannot compile: rules line 3" >&2; exit 3'),
      'events/ev/S30never': script(traceLine('S30')),
    });
    const error = await signalEvent({ root: s.root, event: 'ev', eventDirs: s.eventDirs }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatehouseError);
    const line = (error as GatehouseError).format();
    expect(line).toMatch(/event 'ev' failed at action S20bad \(custom\): .*S20bad: custom action exited with code 3; last output: cannot compile: rules line 3/);
    expect(line).not.toContain('\n');
    expect(trace(s.root)).toEqual(['S10 ev']);
    expect(eventLog(s.root)).toMatch(/Action: ev S20bad FAILED/);
    expect(eventLog(s.root)).not.toMatch(/S30never/);
  });

  it('the event log has one line per action with its duration, and the custom output', async () => {
    const s = setup({ 'events/ev/S10say': script('echo hello from action') });
    await signalEvent({ root: s.root, event: 'ev', eventDirs: s.eventDirs });
    const log = eventLog(s.root);
    expect(log).toMatch(/\[\d+\] Output: ev S10say \| hello from action\n/);
    expect(log).toMatch(/\[\d+\] Action: ev S10say SUCCESS \[\d+\.\d{3}s\]\n/);
    expect(log).toMatch(/Event: ev SUCCESS \[\d+\.\d{3}s\]\n$/);
  });

  it('expand-templates writes the listed targets and skips those without fragments, with a note', async () => {
    const s = setup({
      'events/ev/templates2expand': '/etc/a\n/etc/missing\n',
      'templates/etc/a/10a': 'event={{event}}\n',
    });
    await signalEvent({ root: s.root, event: 'ev', eventDirs: s.eventDirs, templateDirs: s.templateDirs });
    expect(readFileSync(join(s.root, 'etc/a'), 'utf8')).toBe('event=ev\n');
    expect(existsSync(join(s.root, 'etc/missing'))).toBe(false);
    expect(eventLog(s.root)).toMatch(/skipped, no fragments installed: \/etc\/missing/);
  });

  it('a fragment error fails the expansion step and stops the event', async () => {
    const s = setup({
      'events/ev/templates2expand': '/etc/a\n',
      'events/ev/S10after': script(traceLine('S10')),
      'templates/etc/a/10a': '{{#if}}\n',
      'root/etc/a': 'previous\n',
    });
    await expect(signalEvent({ root: s.root, event: 'ev', eventDirs: s.eventDirs, templateDirs: s.templateDirs })).rejects.toThrow(
      /failed at action S05expand-templates \(built-in expand-templates\): .*templates\/etc\/a\/10a:2: Handlebars syntax error/,
    );
    expect(readFileSync(join(s.root, 'etc/a'), 'utf8')).toBe('previous\n');
    expect(trace(s.root)).toEqual([]);
  });
});

describe('firewall-adjust', () => {
  const firewallEvents: Files = {
    'events/firewall-adjust/S20fire': 'fire-firewall-event\n',
    'events/firewall-gateway-save/S10rec': script(traceLine('gateway-save')),
    'events/firewall-server-save/S10rec': script(traceLine('server-save')),
  };
  const setFirewallEvent = (root: string, event: string): void =>
    writeTree(root, { 'var/lib/gatehouse/db/configuration.json': JSON.stringify({ firewall: { type: 'firewall', props: { event } } }) });

  it('fires firewall-gateway-save when the firewall event prop is empty, passing the triggering event first', async () => {
    const s = setup(firewallEvents);
    setFirewallEvent(s.root, '');
    await signalEvent({ root: s.root, event: 'firewall-adjust', args: ['x'], eventDirs: s.eventDirs });
    expect(trace(s.root)).toEqual(['gateway-save firewall-gateway-save firewall-adjust x']);
  });

  it('fires the event named by configuration firewall event', async () => {
    const s = setup(firewallEvents);
    setFirewallEvent(s.root, 'firewall-server-save');
    await signalEvent({ root: s.root, event: 'firewall-adjust', eventDirs: s.eventDirs });
    expect(trace(s.root)).toEqual(['server-save firewall-server-save firewall-adjust']);
  });

  it('accepts lokkit-save as the old name of firewall-server-save', async () => {
    const s = setup(firewallEvents);
    setFirewallEvent(s.root, 'lokkit-save');
    await signalEvent({ root: s.root, event: 'firewall-adjust', eventDirs: s.eventDirs });
    expect(trace(s.root)).toEqual(['server-save firewall-server-save firewall-adjust']);
  });

  it('accepts nethserver-firewall-base-save as the old name of firewall-gateway-save', async () => {
    const s = setup(firewallEvents);
    setFirewallEvent(s.root, 'nethserver-firewall-base-save');
    await signalEvent({ root: s.root, event: 'firewall-adjust', eventDirs: s.eventDirs });
    expect(trace(s.root)).toEqual(['gateway-save firewall-gateway-save firewall-adjust']);
  });

  it('a failure inside the fired event fails firewall-adjust', async () => {
    const s = setup({ ...firewallEvents, 'events/firewall-gateway-save/S10rec': script('exit 4') });
    setFirewallEvent(s.root, '');
    await expect(signalEvent({ root: s.root, event: 'firewall-adjust', eventDirs: s.eventDirs })).rejects.toThrow(
      /event 'firewall-adjust' failed at action S20fire .*event 'firewall-gateway-save' failed at action S10rec .*exited with code 4/,
    );
  });
});

describe('shipped events', () => {
  const shipped = (root: string): EventDirs => ({ shipped: shippedPaths().events, custom: join(root, 'etc/gatehouse/events') });

  it('wan-uplink-update refuses an ACTION other than up or down', async () => {
    const s = setup({});
    await expect(signalEvent({ root: s.root, event: 'wan-uplink-update', args: ['sideways', 'isp1'], eventDirs: shipped(s.root) })).rejects.toThrow(
      /ACTION 'sideways' is neither up nor down/,
    );
  });

  it('wan-uplink-update refuses a missing PROVIDER', async () => {
    const s = setup({});
    await expect(signalEvent({ root: s.root, event: 'wan-uplink-update', args: ['up'], eventDirs: shipped(s.root) })).rejects.toThrow(/missing PROVIDER/);
  });

  it('wan-uplink-update accepts up for an existing provider', async () => {
    const s = setup({});
    writeTree(s.root, { 'var/lib/gatehouse/db/networks.json': JSON.stringify({ isp1: { type: 'provider', props: { interface: 'eth1' } } }) });
    await signalEvent({ root: s.root, event: 'wan-uplink-update', args: ['up', 'isp1'], eventDirs: shipped(s.root) });
    expect(eventLog(s.root)).toMatch(/isp1 \(eth1\) is up/);
  });

  it('initialize-default-databases creates the shipped databases and keeps an existing value', async () => {
    const s = setup({});
    writeTree(s.root, { 'var/lib/gatehouse/db/configuration.json': JSON.stringify({ firewall: { type: 'firewall', props: { Policy: 'strict' } } }) });
    await signalEvent({ root: s.root, event: 'initialize-default-databases', eventDirs: shipped(s.root) });
    const configuration = JSON.parse(readFileSync(join(s.root, 'var/lib/gatehouse/db/configuration.json'), 'utf8')) as Record<string, { props: Record<string, string> }>;
    expect(configuration['firewall']?.props['Policy']).toBe('strict');
    expect(Object.keys(configuration['firewall']?.props ?? {}).length).toBeGreaterThan(1);
  });

  it('firewall-gateway-save lists the IPv4 and IPv6 firewall targets', async () => {
    const { loadEvent } = await import('../../src/events/index.js');
    const s = setup({});
    const ev = loadEvent('firewall-gateway-save', shipped(s.root));
    expect(ev.templates).toContain('/etc/shorewall/rules');
    expect(ev.templates).toContain('/etc/shorewall6/rules');
    expect(ev.templates).toContain('/etc/firehol/fireqos.conf');
    expect(ev.templates).toHaveLength(28);
  });
});

describe('an event names the compiled-fragment store for itself only', () => {
  it('a render after the event (another test file in a shared worker, or a command of a long-lived process) never writes to that root', async () => {
    const { renderTarget } = await import('../../src/templates/index.js');
    const s = setup({ 'events/ev/templates2expand': '/etc/x\n', 'templates/etc/x/10a': 'from the event {{event}}\n' });
    await signalEvent({ root: s.root, event: 'ev', eventDirs: s.eventDirs, templateDirs: s.templateDirs, applyMode: { kind: 'dry-run' } });
    const store = join(s.root, 'var/cache/gatehouse/fragments');
    expect(existsSync(store)).toBe(true);
    // The root goes (a test removes its temporary root); something else in the process renders.
    removeTree(base!);
    base = makeTree({ 'shipped/etc/y/10b': 'elsewhere {{mode}}\n' });
    expect(renderTarget('/etc/y', { mode: 'm', db: {} }, { shipped: join(base, 'shipped'), custom: join(base, 'custom') })).toBe('elsewhere m\n');
    const recreated = existsSync(store);
    if (recreated) removeTree(join(s.root, '..'));
    expect(recreated, `${store} was made again after its root was removed`).toBe(false);
  });
});
