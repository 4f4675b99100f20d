/**
 * bin/*.js run by name (as npm link and npm install -g install them) start Node without
 * NODE_EXTRA_CA_CERTS, and the programs a command runs get the variable back unchanged.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreExtraCaCerts } from '../../src/cli/run-command.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';

beforeAll(buildProjectIfStale, 180_000);
const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-launcher-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A file Node cannot load: a Node started with it prints a warning naming it.
const MISSING = join(scratch, 'no-such-ca.pem');
const warning = /Ignoring extra certs/;

/** The commands by name, as npm link makes them: symlinks to bin/<name>.js. */
function linkBins(): string {
  const dir = join(scratch, 'bin');
  mkdirSync(dir, { recursive: true });
  for (const n of ['db', 'signal-event']) symlinkSync(join(projectDir, 'bin', `${n}.js`), join(dir, n));
  return dir;
}

describe('the launcher line of bin/*.js', () => {
  const bin = linkBins();
  const root = join(scratch, 'root');

  it('run by name, Node starts without NODE_EXTRA_CA_CERTS; run as node bin/db.js, with it', () => {
    const env = { ...process.env, GATEHOUSE_ROOT: root, NODE_EXTRA_CA_CERTS: MISSING };
    const byName = spawnSync(join(bin, 'db'), ['configuration', 'setprop', 'firewall', 'Policy', 'strict'], { env, encoding: 'utf8' });
    expect(byName.stderr).not.toMatch(warning);
    expect(byName.status).toBe(0);
    const direct = spawnSync(process.execPath, [join(projectDir, 'bin/db.js'), 'configuration', 'getprop', 'firewall', 'Policy'], { env, encoding: 'utf8' });
    expect(direct.stderr).toMatch(warning);
    expect(direct.stdout).toBe('strict\n');
  });

  it('an event action gets NODE_EXTRA_CA_CERTS as the administrator set it (or unset), and no variable of ours', () => {
    const events = join(root, 'etc/gatehouse/events/env-check');
    mkdirSync(events, { recursive: true });
    for (const d of [join(root, 'etc'), join(root, 'etc/gatehouse'), join(root, 'etc/gatehouse/events'), events]) chmodSync(d, 0o755);
    const action = join(events, 'S10env');
    writeFileSync(
      action,
      '#!/bin/sh\n' +
        'out="$GATEHOUSE_ROOT/env.txt"\n' +
        'echo "action ${NODE_EXTRA_CA_CERTS-unset} ${GATEHOUSE_NODE_EXTRA_CA_CERTS-unset}" > "$out"\n' +
        // The Node process running the action: what it was started with.
        'echo "node $(tr \'\\0\' \'\\n\' < /proc/$PPID/environ | grep -c \'^NODE_EXTRA_CA_CERTS=\')" >> "$out"\n',
    );
    chmodSync(action, 0o755);
    const run = (extra: NodeJS.ProcessEnv): string => {
      const env: NodeJS.ProcessEnv = { ...process.env, GATEHOUSE_ROOT: root, GATEHOUSE_APPLY: 'dry-run', ...extra };
      if (extra['NODE_EXTRA_CA_CERTS'] === undefined) delete env['NODE_EXTRA_CA_CERTS'];
      const r = spawnSync(join(bin, 'signal-event'), ['env-check'], { env, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return readFileSync(join(root, 'env.txt'), 'utf8');
    };
    expect(run({ NODE_EXTRA_CA_CERTS: MISSING })).toBe(`action ${MISSING} unset\nnode 0\n`);
    expect(run({ NODE_EXTRA_CA_CERTS: '' })).toBe('action  unset\nnode 0\n');
    expect(run({})).toBe('action unset unset\nnode 0\n');
  });

  it('db picks the read-only bundle by the verb, and a malformed read line still gets the whole command (usage errors, help)', () => {
    const env = { ...process.env, GATEHOUSE_ROOT: join(scratch, 'no-root-used') };
    const db = (...args: string[]) => spawnSync(join(bin, 'db'), args, { env, encoding: 'utf8' });
    spawnSync(join(bin, 'db'), ['--root', root, 'hosts', 'set', 'h1', 'host', 'IpAddress', '10.0.0.1'], { env, encoding: 'utf8' });
    expect(db('--root', root, 'hosts', 'getprop', 'h1', 'IpAddress')).toMatchObject({ status: 0, stdout: '10.0.0.1\n' });
    expect(db(`--root=${root}`, 'hosts', 'get', 'h1')).toMatchObject({ status: 0, stdout: 'host|IpAddress|10.0.0.1\n' });
    expect(db('--root', root, 'hosts', 'getprop', 'h1', 'Nope')).toMatchObject({ status: 1, stdout: '' });
    const tooFew = db('--root', root, 'hosts', 'getprop', 'h1');
    expect(tooFew.status).toBe(255);
    expect(tooFew.stderr).toMatch(/getprop: too few arguments \(usage: db <dbname> getprop <key> <prop>\)/);
    expect(db('--root', root, '--help', 'hosts', 'getprop')).toMatchObject({ status: 0, stdout: expect.stringMatching(/Verbs:/) });
    // An error of the read itself names the db and key.
    expect(db('--root', root, 'hosts', 'showjson', 'nope')).toMatchObject({ status: 1, stderr: expect.stringMatching(/hosts\/nope: no such key/) });
  });
});

describe('restoreExtraCaCerts', () => {
  it('moves the carried value back, and keeps a NODE_EXTRA_CA_CERTS set since', () => {
    const env: NodeJS.ProcessEnv = { GATEHOUSE_NODE_EXTRA_CA_CERTS: '/a.pem' };
    restoreExtraCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/a.pem' });
    const both: NodeJS.ProcessEnv = { GATEHOUSE_NODE_EXTRA_CA_CERTS: '/a.pem', NODE_EXTRA_CA_CERTS: '/b.pem' };
    restoreExtraCaCerts(both);
    expect(both).toEqual({ NODE_EXTRA_CA_CERTS: '/b.pem' });
    const none: NodeJS.ProcessEnv = { PATH: '/bin' };
    restoreExtraCaCerts(none);
    expect(none).toEqual({ PATH: '/bin' });
  });
});
