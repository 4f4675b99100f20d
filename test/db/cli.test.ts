import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFile } from '../../src/db/index.js';
import { Roots, buildProject, configBin, runDb } from './run-db.js';

const roots = new Roots();
beforeAll(() => buildProject(), 120_000);
afterAll(() => roots.cleanup());

/** A fresh root with `db` commands already run, each required to succeed. */
async function rootWith(...commands: string[][]): Promise<string> {
  const root = await roots.make();
  for (const args of commands) {
    const r = await runDb(root, args);
    if (r.code !== 0) throw new Error(`db ${args.join(' ')} failed: ${r.stderr}`);
  }
  return root;
}

describe('reading, NethServer output formats', () => {
  it('getprop prints the value and a newline', async () => {
    const r = await runDb(await rootWith(), ['configuration', 'getprop', 'firewall', 'Policy']);
    expect(r).toMatchObject({ code: 0, stdout: 'permissive\n', stderr: '' });
  });

  it('getprop of a missing prop exits 1 and prints nothing', async () => {
    const r = await runDb(await rootWith(), ['configuration', 'getprop', 'firewall', 'NoSuchProp']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: '' });
  });

  it('getprop of an empty value prints an empty line', async () => {
    const root = await rootWith(['hosts', 'set', 'pc', 'host', 'IpAddress', '10.0.0.5', 'Description', '']);
    expect(await runDb(root, ['hosts', 'getprop', 'pc', 'Description'])).toMatchObject({ code: 0, stdout: '\n' });
  });

  it('get prints the raw value with props sorted', async () => {
    const r = await runDb(await rootWith(), ['configuration', 'get', 'sshd']);
    expect(r).toMatchObject({ code: 0, stdout: 'service|TCPPort|22|access|green,red|status|enabled\n' });
  });

  it('get of a simple entry prints its value', async () => {
    const root = await rootWith(['configuration', 'set', 'SystemMode', 'simplevalue']);
    expect((await runDb(root, ['configuration', 'get', 'SystemMode'])).stdout).toBe('simplevalue\n');
  });

  it('get of a missing key exits 1 with no output', async () => {
    expect(await runDb(await rootWith(), ['configuration', 'get', 'nokey'])).toMatchObject({ code: 1, stdout: '', stderr: '' });
  });

  it('gettype prints the type', async () => {
    expect((await runDb(await rootWith(), ['configuration', 'gettype', 'firewall'])).stdout).toBe('configuration\n');
  });

  it('keys lists keys sorted', async () => {
    const r = await runDb(await rootWith(), ['tc', 'keys']);
    expect(r).toMatchObject({ code: 0, stdout: 'high\nlow\n' });
  });

  it('keys of an empty database exits 1', async () => {
    expect(await runDb(await rootWith(), ['fwrules', 'keys'])).toMatchObject({ code: 1, stdout: '' });
  });

  it('show prints key=type then indented sorted props', async () => {
    const r = await runDb(await rootWith(), ['configuration', 'show', 'sshd']);
    expect(r.stdout).toBe('sshd=service\n    TCPPort=22\n    access=green,red\n    status=enabled\n');
  });

  it('show of an empty database exits 1', async () => {
    expect((await runDb(await rootWith(), ['hosts', 'show'])).code).toBe(1);
  });

  it('print, printtype and printprop print their line formats', async () => {
    const root = await rootWith();
    expect((await runDb(root, ['tc', 'print', 'high'])).stdout).toBe('high=class|Description|High priority|Mark|2|MinInputRate|10|MinOutputRate|10\n');
    expect((await runDb(root, ['tc', 'printtype'])).stdout).toBe('high=class\nlow=class\n');
    expect((await runDb(root, ['tc', 'printprop', 'low', 'MaxOutputRate', 'Mark'])).stdout).toBe('Mark=3\nMaxOutputRate=90\n');
  });

  it('printjson prints compact sorted JSON without a newline, props left out when empty', async () => {
    const root = await rootWith(['hosts', 'set', 'b', 'host', 'IpAddress', '10.0.0.2'], ['hosts', 'set', 'a', 'self']);
    const r = await runDb(root, ['hosts', 'printjson']);
    expect(r.stdout).toBe('[{"name":"a","type":"self"},{"name":"b","type":"host","props":{"IpAddress":"10.0.0.2"}}]');
    expect((await runDb(root, ['hosts', 'getjson', 'b'])).stdout).toBe('{"name":"b","type":"host","props":{"IpAddress":"10.0.0.2"}}');
  });

  it('printjson of a missing key is an error, not 1 on stdout', async () => {
    const r = await runDb(await rootWith(), ['hosts', 'printjson', 'ghost']);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe('db: hosts/ghost: no such key\n');
  });

  it('showjson pretty-prints with a trailing newline', async () => {
    const r = await runDb(await rootWith(), ['tc', 'showjson', 'low']);
    expect(JSON.parse(r.stdout)).toEqual({ name: 'low', type: 'class', props: { Description: 'Low priority', Mark: '3', MaxInputRate: '90', MaxOutputRate: '90' } });
    expect(r.stdout.endsWith('}\n')).toBe(true);
  });

  it('config ARGS is db configuration ARGS', async () => {
    const r = await runDb(await rootWith(), ['getprop', 'firewall', 'ExternalPing'], { bin: configBin });
    expect(r).toMatchObject({ code: 0, stdout: 'enabled\n' });
  });

  it('--root overrides GATEHOUSE_ROOT', async () => {
    const other = await rootWith(['hosts', 'set', 'only-here', 'host', 'IpAddress', '10.9.9.9']);
    const r = await runDb(await rootWith(), ['--root', other, 'hosts', 'getprop', 'only-here', 'IpAddress']);
    expect(r.stdout).toBe('10.9.9.9\n');
  });
});

describe('writing', () => {
  it('set replaces the whole record, old props are not kept', async () => {
    const root = await rootWith(['hosts', 'set', 'pc', 'host', 'IpAddress', '10.0.0.5', 'Description', 'old']);
    await runDb(root, ['hosts', 'set', 'pc', 'host', 'IpAddress', '10.0.0.6']);
    expect((await runDb(root, ['hosts', 'get', 'pc'])).stdout).toBe('host|IpAddress|10.0.0.6\n');
  });

  it('setdefault leaves an existing record alone', async () => {
    const root = await rootWith(['hosts', 'set', 'pc', 'host', 'IpAddress', '10.0.0.5']);
    expect((await runDb(root, ['hosts', 'setdefault', 'pc', 'host', 'IpAddress', '10.0.0.99'])).code).toBe(0);
    expect((await runDb(root, ['hosts', 'getprop', 'pc', 'IpAddress'])).stdout).toBe('10.0.0.5\n');
  });

  it('setprop adds and overwrites props, keeping the others', async () => {
    const root = await rootWith(['configuration', 'setprop', 'firewall', 'Policy', 'strict', 'Custom', 'x']);
    expect((await runDb(root, ['configuration', 'printprop', 'firewall', 'Policy', 'Custom', 'ExternalPing'])).stdout).toBe(
      'Custom=x\nExternalPing=enabled\nPolicy=strict\n',
    );
  });

  it('setprop on a missing key is an error, not a silent success', async () => {
    const r = await runDb(await rootWith(), ['hosts', 'setprop', 'ghost', 'IpAddress', '10.0.0.1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^db: hosts\/ghost: no such key \(create it first with: db hosts set ghost <type>/);
  });

  it('delprop on a missing key is an error', async () => {
    expect((await runDb(await rootWith(), ['hosts', 'delprop', 'ghost', 'IpAddress'])).code).toBe(1);
  });

  it('delprop removes props', async () => {
    const root = await rootWith(['hosts', 'set', 'pc', 'host', 'IpAddress', '10.0.0.5', 'Description', 'x'], ['hosts', 'delprop', 'pc', 'Description']);
    expect((await runDb(root, ['hosts', 'get', 'pc'])).stdout).toBe('host|IpAddress|10.0.0.5\n');
  });

  it('settype keeps the props; on a missing key it exits 1', async () => {
    const root = await rootWith(['hosts', 'set', 'pc', 'host', 'IpAddress', '10.0.0.5'], ['hosts', 'settype', 'pc', 'remote']);
    expect((await runDb(root, ['hosts', 'get', 'pc'])).stdout).toBe('remote|IpAddress|10.0.0.5\n');
    expect((await runDb(root, ['hosts', 'settype', 'ghost', 'host'])).code).toBe(1);
  });

  it('delete of a missing key exits 1', async () => {
    expect((await runDb(await rootWith(), ['hosts', 'delete', 'ghost'])).code).toBe(1);
  });

  it('| and = in a value are stored safely and escaped in raw output', async () => {
    const root = await rootWith(['hosts', 'set', 'pc', 'host', 'IpAddress', '10.0.0.5', 'Description', 'a|b=c']);
    expect((await runDb(root, ['hosts', 'getprop', 'pc', 'Description'])).stdout).toBe('a|b=c\n');
    expect((await runDb(root, ['hosts', 'get', 'pc'])).stdout).toBe('host|Description|a\\|b=c|IpAddress|10.0.0.5\n');
  });

  it('a value that looks like an option is taken as a value', async () => {
    const root = await rootWith(['hosts', 'set', 'pc', 'host', 'Description', '--force'], ['hosts', 'setprop', 'pc', 'Note', '-1']);
    expect((await runDb(root, ['hosts', 'printprop', 'pc'])).stdout).toBe('Description=--force\nNote=-1\n');
  });

  it('setjson sets records from an argument and from stdin', async () => {
    const root = await rootWith(['hosts', 'setjson', '{"name":"a","type":"host","props":{"IpAddress":"10.0.0.1"}}']);
    const r = await runDb(root, ['hosts', 'setjson', '-'], { input: '[{"name":"b","type":"cidr","props":{"Address":"10.1.0.0/16"}}]' });
    expect(r.code).toBe(0);
    expect((await runDb(root, ['hosts', 'printtype'])).stdout).toBe('a=host\nb=cidr\n');
  });

  it('import and export through the command reproduce a NethServer 7 file', async () => {
    const root = await roots.make();
    await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true });
    await writeFile(databaseFile(root, 'configuration'), '{}\n');
    const golden = join(import.meta.dirname, '../golden/db/nethserver7-roundtrip');
    const input = await readFile(join(golden, 'input.txt'), 'utf8');
    expect((await runDb(root, ['configuration', 'import', '-'], { input })).code).toBe(0);
    expect((await runDb(root, ['configuration', 'export'])).stdout).toBe(await readFile(join(golden, 'expected.txt'), 'utf8'));
  });
});

describe('bad input: one line, non-zero exit, file unchanged', () => {
  /** Run a refused command and check the database file did not change. */
  async function refused(root: string, db: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
    const file = databaseFile(root, db);
    const before = await readFile(file, 'utf8').catch(() => undefined);
    const r = await runDb(root, [db, ...args]);
    expect(await readFile(file, 'utf8').catch(() => undefined)).toBe(before);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    return r;
  }

  it('Action=ALLOW exits 1 naming fwrules/key/Action and the valid actions', async () => {
    const root = await rootWith(['fwrules', 'set', '1', 'rule', 'Src', 'any', 'Dst', 'role;red', 'Action', 'accept']);
    const r = await refused(root, 'fwrules', ['setprop', '1', 'Action', 'ALLOW']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("db: fwrules/1/Action: 'ALLOW' is not valid (valid: accept, drop or reject (any case), class;<tc class> or provider;<provider>)\n");
  });

  it('a malformed CIDR is refused', async () => {
    const r = await refused(await rootWith(['hosts', 'set', 'x', 'host']), 'hosts', ['set', 'lan', 'cidr', 'Address', '10.0.0/8']);
    expect(r).toMatchObject({ code: 1 });
    expect(r.stderr).toMatch(/^db: hosts\/lan\/Address: /);
  });

  it('a port of 70000 is refused', async () => {
    const r = await refused(await rootWith(), 'configuration', ['setprop', 'sshd', 'TCPPort', '70000']);
    expect(r.stderr).toMatch(/^db: configuration\/sshd\/TCPPort: '70000' is not valid/);
  });

  it('a zone name of 6 characters is refused', async () => {
    const r = await refused(await rootWith(), 'networks', ['set', 'guests', 'zone', 'Interface', 'eth3']);
    expect(r.stderr).toMatch(/^db: networks\/guests: .*at most 5 characters/);
  });

  it('TimeStart=25:00 is refused', async () => {
    const r = await refused(await rootWith(), 'fwtimes', ['set', 'office', 'time', 'TimeStart', '25:00']);
    expect(r.stderr).toMatch(/^db: fwtimes\/office\/TimeStart: '25:00' is not valid/);
  });

  it('a value with a newline is refused', async () => {
    const r = await refused(await rootWith(), 'configuration', ['setprop', 'sshd', 'Note', 'one\ntwo']);
    expect(r.stderr).toMatch(/^db: configuration\/sshd\/Note: the value 'one\\ntwo' holds a control character or line break/);
  });

  it('an odd number of prop/value arguments exits 255', async () => {
    const r = await refused(await rootWith(), 'configuration', ['setprop', 'firewall', 'Policy', 'strict', 'ExternalPing']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^db: setprop: props and values must come in pairs/);
  });

  it('set without a type exits 255', async () => {
    const r = await refused(await rootWith(), 'hosts', ['set', 'pc']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^db: set: too few arguments \(usage: db <dbname> set <key> <type>/);
  });

  it('an unknown verb exits 255', async () => {
    const r = await refused(await rootWith(), 'hosts', ['frobnicate', 'pc']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^db: unknown verb 'frobnicate' \(valid: keys, get/);
  });

  it('a corrupt database is reported and never overwritten', async () => {
    const root = await rootWith(['hosts', 'set', 'pc', 'host', 'IpAddress', '10.0.0.5']);
    const file = databaseFile(root, 'hosts');
    await writeFile(file, '{"pc": {"type": "host", "props": {"IpAdd');
    const read = await runDb(root, ['hosts', 'keys']);
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(/^db: .*hosts\.json: database file is corrupt: invalid JSON .*refusing to use or overwrite it/);
    const write = await refused(root, 'hosts', ['set', 'other', 'host', 'IpAddress', '10.0.0.6']);
    expect(write.code).toBe(1);
    expect(await readFile(file, 'utf8')).toBe('{"pc": {"type": "host", "props": {"IpAdd');
  });
});

describe('referential integrity on delete', () => {
  const objects = [
    ['hosts', 'set', 'web', 'host', 'IpAddress', '192.168.1.10'],
    ['hosts', 'set', 'pc', 'host', 'IpAddress', '192.168.1.20'],
    ['hosts', 'set', 'office', 'host-group', 'Members', 'pc,web'],
    ['fwtimes', 'set', 'night', 'time', 'TimeStart', '22:00', 'TimeStop', '06:00'],
    ['fwrules', 'set', '10', 'rule', 'Src', 'host-group;office', 'Dst', 'host;web', 'Action', 'accept', 'Time', 'time;night', 'Service', 'fwservice;ssh'],
    ['portforward', 'set', '1', 'pf', 'Proto', 'tcp', 'Src', '8080', 'Dst', '80', 'DstHost', 'host;web'],
  ];

  it('deleting a referenced host is refused and lists every referrer', async () => {
    const root = await rootWith(...objects);
    const r = await runDb(root, ['hosts', 'delete', 'web']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "db: hosts/web: host 'web' is still referenced by fwrules/10/Dst, hosts/office/Members, portforward/1/DstHost (change or delete those records first, or use --force)\n",
    );
    expect((await runDb(root, ['hosts', 'gettype', 'web'])).stdout).toBe('host\n');
  });

  it('--force deletes a referenced host', async () => {
    const root = await rootWith(...objects);
    expect((await runDb(root, ['hosts', 'delete', 'web', '--force'])).code).toBe(0);
    expect((await runDb(root, ['hosts', 'get', 'web'])).code).toBe(1);
  });

  it('deleting a referenced service, time or class is refused', async () => {
    const root = await rootWith(...objects, ['fwrules', 'set', '11', 'rule', 'Src', 'role;green', 'Dst', 'role;red', 'Action', 'class;low']);
    expect((await runDb(root, ['fwservices', 'delete', 'ssh'])).stderr).toMatch(/fwrules\/10\/Service/);
    expect((await runDb(root, ['fwtimes', 'delete', 'night'])).stderr).toMatch(/fwrules\/10\/Time/);
    expect((await runDb(root, ['tc', 'delete', 'low'])).stderr).toMatch(/fwrules\/11\/Action/);
  });

  it('deleting a zone named in a service access list is refused', async () => {
    const root = await rootWith(['networks', 'set', 'lab', 'zone', 'Interface', 'eth2', 'Network', '10.5.0.0/24'], ['configuration', 'setprop', 'sshd', 'access', 'green,lab']);
    expect((await runDb(root, ['networks', 'delete', 'lab'])).stderr).toMatch(/configuration\/sshd\/access/);
  });

  it('deleting an unreferenced object succeeds', async () => {
    const root = await rootWith(...objects);
    expect((await runDb(root, ['fwservices', 'delete', 'telnet'])).code).toBe(0);
  });
});
