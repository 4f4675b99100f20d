/**
 * The API inside the lab's gateway namespace, driven over TLS with curl from the ISP
 * router (the allowed client), its verdicts proved by probes from the internet host:
 * block, delete, expire, whitelist 409, 401, 403, a firewall-adjust and an API restart
 * between block and probe; rfw's two-address forward form (pairs) in both families, and
 * the per-entry counters of GET /list, with sets made without counters migrated at API start.
 * A wrong verdict names its kind (false accept or false drop).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, closeLabRoot, expectVerdicts, openLabRoot } from '../e2e/harness.js';
import { projectDir } from '../templates/build.js';
import { readEntries } from '../../src/api/index.js';

const why = labUnavailableReason() ?? (spawnable('curl') ? undefined : 'curl is not installed');
if (why) console.warn('skipped: ' + why);

function spawnable(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const GATEWAY_RED = '203.0.113.2';
const INET = '198.51.100.10';
const PASSWORD = 'lab-password-1';

describe.skipIf(why)('the REST API in the lab', () => {
  let lab: Lab;
  let gh: E2eRoot;
  let api: ChildProcess | undefined;
  let apiLog = '';

  const startApi = async () => {
    apiLog = '';
    const child = spawn('ip', ['netns', 'exec', lab.ns.gw, process.execPath, join(projectDir, 'bin/gatehouse.js'), 'api', '--root', gh.root, '--apply', `netns:${lab.ns.gw}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api = child;
    child.stdout!.on('data', (c: Buffer) => (apiLog += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (c: Buffer) => {
        apiLog += c.toString();
        if (apiLog.includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`gatehouse api exited (${String(code)}): ${apiLog}`)));
    });
  };

  const stopApi = async () => {
    const child = api;
    api = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  };

  /** curl from a lab node; returns the HTTP status and body. */
  const curl = async (from: 'isp' | 'inet', method: string, path: string, options: { user?: string; password?: string } = {}) => {
    const out = await lab.exec(from, 'curl', [
      '-s',
      '-m',
      '5',
      '--cacert',
      join(gh.root, 'etc/gatehouse/api/tls.crt'),
      ...(options.user !== undefined ? ['--user', `${options.user}:${options.password ?? PASSWORD}`] : ['--user', `fleet:${PASSWORD}`]),
      '-X',
      method,
      '-w',
      '\n%{http_code}',
      `https://${GATEWAY_RED}:7393${path}`,
    ]);
    const lines = out.trimEnd().split('\n');
    return { status: Number(lines.pop()), body: lines.join('\n') };
  };

  const sshFromInet = (verdict: 'accepted' | 'dropped', reason: string) =>
    expectVerdicts(lab, [{ from: 'inet', to: 'gw', proto: 'tcp', port: 22, verdict, options: { address: GATEWAY_RED }, why: reason }]);

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot());
    // A short warm-up (the default is 10,000 requests, about 4 s a start here): each start still runs one, through TLS in the namespace.
    await gh.db('configuration', 'setprop', 'api', 'status', 'enabled', 'access', 'red', 'AllowedClients', '203.0.113.1', 'Whitelist', '198.51.100.200', 'WarmUpRequests', '100');
    const cert = await gh.gatehouse(['api', '--make-cert', '--name', GATEWAY_RED]);
    if (cert.code !== 0) throw new Error(cert.stderr);
    const passwd = spawn(process.execPath, [join(projectDir, 'bin/gatehouse.js'), 'api', '--root', gh.root, '--passwd', 'fleet'], { stdio: ['pipe', 'ignore', 'inherit'] });
    passwd.stdin!.end(PASSWORD + '\n');
    await new Promise((resolve) => passwd.once('exit', resolve));
    await gh.adjust();
    await startApi();
  });
  afterAll(async () => {
    await stopApi();
    await closeLabRoot({ lab, gh });
  });

  it('before any block the internet host reaches ssh on the gateway', async () => {
    await sshFromInet('accepted', 'sshd access red, nothing blocked');
  });

  it('the start warmed up through its own server, leaving the kernel sets and the database empty', async () => {
    expect(apiLog).toMatch(/warmed up with 100 requests of its own over loopback/);
    // The later starts of this file skip it (each costs about a second here).
    await gh.db('configuration', 'setprop', 'api', 'WarmUpRequests', '0');
    const sets = await lab.exec('gw', 'ipset', ['list', '-t']);
    const sizes = [...sets.matchAll(/^Name: (ghbl-\S+)[\s\S]*?^Number of entries: (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(sizes.length).toBeGreaterThan(0);
    expect(sizes.filter((s) => !s.endsWith(' 0')), 'a warm-up entry reached the kernel').toEqual([]);
    expect((await readEntries(gh.root)).entries).toEqual([]);
  });

  it('a client outside AllowedClients gets 403; a wrong password 401 (and is logged)', async () => {
    expect((await curl('inet', 'GET', '/v1/status')).status).toBe(403);
    const wrong = await curl('isp', 'PUT', `/drop/input/any/${INET}`, { user: 'fleet', password: 'not-it' });
    expect(wrong.status).toBe(401);
    expect(apiLog).toContain('authentication failed');
    await sshFromInet('accepted', 'a refused request blocks nothing');
  });

  it('PUT drops the internet host at once; DELETE lets it back', async () => {
    const put = await curl('isp', 'PUT', `/drop/input/any/${INET}`);
    expect(put.status, put.body).toBe(200);
    await sshFromInet('dropped', 'blocked by the API');
    const list = JSON.parse((await curl('isp', 'GET', '/list/input')).body) as { source: string; target: string }[];
    expect(list).toEqual([expect.objectContaining({ source: `${INET}/32`, target: 'DROP' })]);
    expect((await curl('isp', 'DELETE', `/drop/input/any/${INET}`)).status).toBe(200);
    await sshFromInet('accepted', 'block deleted');
  });

  it('?expire=2: dropped, then accepted again after about 2 s', async () => {
    expect((await curl('isp', 'PUT', `/drop/input/any/${INET}?expire=2`)).status).toBe(200);
    await sshFromInet('dropped', 'blocked for 2 s');
    await new Promise((r) => setTimeout(r, 3000));
    await sshFromInet('accepted', 'the block expired');
  });

  it('the whitelist is refused with 409: green network, listed address, the API client itself', async () => {
    for (const address of ['192.168.1.10', '198.51.100.200', '203.0.113.1']) {
      const r = await curl('isp', 'PUT', `/drop/input/any/${address}`);
      expect(r.status, address).toBe(409);
      expect(JSON.parse(r.body).error).toContain('whitelisted');
    }
  });

  it('a firewall-adjust between block and probe keeps the block', async () => {
    expect((await curl('isp', 'PUT', `/drop/input/any/${INET}`)).status).toBe(200);
    await gh.adjust();
    await sshFromInet('dropped', 'run-time sets survive firewall-adjust');
    const status = await gh.gatehouse(['status', '--apply', `netns:${lab.ns.gw}`]);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain('blocklist: 1 entries in the database; ghbl-drop-input-4 1');
  });

  it('a restart of the API keeps the block (and so does the time the API is down)', async () => {
    await stopApi();
    await sshFromInet('dropped', 'the kernel keeps the set while the API is down');
    await startApi();
    await sshFromInet('dropped', 'the API reloads its database at start');
    expect((await curl('isp', 'DELETE', `/drop/input/any/${INET}`)).status).toBe(200);
    await sshFromInet('accepted', 'block deleted after the restart');
  });

  const probe = (from: 'blue' | 'green', to: 'inet' | 'isp', verdict: 'accepted' | 'dropped', why: string, family: 4 | 6 = 4) =>
    ({ from, to, proto: 'tcp' as const, port: 443, verdict, options: { family }, why });

  it('a forward pair drops that pair only: the same source to another destination and another source to the same destination pass', async () => {
    await expectVerdicts(lab, [probe('blue', 'inet', 'accepted', 'nothing blocked yet'), probe('green', 'inet', 'accepted', 'nothing blocked yet')]);
    const put = await curl('isp', 'PUT', '/drop/forward/blue0/192.168.10.10/red0/198.51.100.10');
    expect(put.status, put.body).toBe(200);
    await expectVerdicts(lab, [
      probe('blue', 'inet', 'dropped', 'the pair blue -> inet is blocked'),
      probe('green', 'inet', 'accepted', 'another source, same destination: not the pair'),
      probe('blue', 'isp', 'accepted', 'same source, another destination: not the pair'),
    ]);
    // The pair chain holds one rule per pair, and GET /list shows it with the packets it dropped.
    expect(await lab.exec('gw', 'iptables', ['-S', 'runtime-blocklist-drop'])).toContain('-s 192.168.10.10/32 -d 198.51.100.10/32 -i blue0 -o red0');
    const rows = JSON.parse((await curl('isp', 'GET', '/list/forward')).body) as { inp: string; out: string; source: string; destination: string; pkts: string; bytes: string }[];
    const row = rows.find((r) => r.source === '192.168.10.10/32');
    expect(row).toMatchObject({ inp: 'blue0', out: 'red0', destination: '198.51.100.10/32' });
    expect(Number(row!.pkts), 'the rule counted the dropped probe').toBeGreaterThan(0);
    expect(Number(row!.bytes)).toBeGreaterThan(0);
    // A duplicate changes nothing (still one rule).
    expect(JSON.parse((await curl('isp', 'PUT', '/drop/forward/blue0/192.168.10.10/red0/198.51.100.10')).body).result).toBe('exists');
    expect((await lab.exec('gw', 'iptables', ['-S', 'runtime-blocklist-drop'])).split('\n').filter((l) => l.startsWith('-A'))).toHaveLength(1);
  }, 60_000);

  it('the pair survives a firewall-adjust, a restart of the API, and gatehouse stop then start', async () => {
    await gh.adjust();
    await expectVerdicts(lab, [probe('blue', 'inet', 'dropped', 'run-time chains survive firewall-adjust'), probe('green', 'inet', 'accepted', 'not the pair')]);
    await stopApi();
    await startApi();
    await expectVerdicts(lab, [probe('blue', 'inet', 'dropped', 'reloaded from the database at API start')]);
    await stopApi();
    const stop = await gh.gatehouse(['stop', '--apply', `netns:${lab.ns.gw}`]);
    expect(stop.code, stop.stderr).toBe(0);
    // Stopped: the plan's chains are gone, the run-time chain and its rule are not.
    expect(await lab.exec('gw', 'iptables', ['-S', 'runtime-blocklist-drop'])).toContain('-s 192.168.10.10/32');
    const start = await gh.gatehouse(['start', '--apply', `netns:${lab.ns.gw}`]);
    expect(start.code, start.stderr).toBe(0);
    await expectVerdicts(lab, [probe('blue', 'inet', 'dropped', 'the pair is back after stop and start'), probe('green', 'inet', 'accepted', 'not the pair')]);
    await startApi();
    expect((await curl('isp', 'DELETE', '/drop/forward/blue0/192.168.10.10/red0/198.51.100.10')).status).toBe(200);
    await expectVerdicts(lab, [probe('blue', 'inet', 'accepted', 'pair deleted')]);
  }, 90_000);

  it('IPv6 pairs, with expiry: dropped, then accepted again after about 2 s; the whitelisted green source is refused', async () => {
    await expectVerdicts(lab, [probe('blue', 'inet', 'accepted', 'nothing blocked', 6)]);
    const put = await curl('isp', 'PUT', '/drop/forward/any/fd00:10::/64/any/2001:db8:2::10?expire=2');
    expect(put.status, put.body).toBe(200);
    await expectVerdicts(lab, [probe('blue', 'inet', 'dropped', 'the IPv6 pair is blocked', 6), probe('green', 'inet', 'accepted', 'another source', 6), probe('blue', 'inet', 'accepted', 'IPv4 is not the pair')]);
    await new Promise((r) => setTimeout(r, 3000));
    await expectVerdicts(lab, [probe('blue', 'inet', 'accepted', 'the pair expired', 6)]);
    expect((await lab.exec('gw', 'ip6tables', ['-S', 'runtime-blocklist-drop'])).split('\n').filter((l) => l.startsWith('-A')), 'the API deleted the expired rule').toEqual([]);
    expect((await curl('isp', 'PUT', '/drop/forward/green0/192.168.1.0/24/red0/198.51.100.10')).status).toBe(409);
  }, 60_000);

  it('a pair whose rule was flushed by hand still expires, and the requests after it still reach the kernel', async () => {
    expect((await curl('isp', 'PUT', '/drop/forward/blue0/192.168.10.10/red0/198.51.100.10?expire=1')).status).toBe(200);
    await lab.exec('gw', 'iptables', ['-F', 'runtime-blocklist-drop']);
    await new Promise((r) => setTimeout(r, 2000));
    // Its deletion must not fail the batches that follow (iptables-restore refuses a -D of an absent rule).
    const put = await curl('isp', 'PUT', `/drop/input/any/${INET}`);
    expect(put.status, put.body).toBe(200);
    await sshFromInet('dropped', 'a block after the expiry of a pair flushed by hand (false accept if it never reached the kernel)');
    expect((await curl('isp', 'DELETE', `/drop/input/any/${INET}`)).status).toBe(200);
    await sshFromInet('accepted', 'the block was deleted');
    expect(JSON.parse((await curl('isp', 'GET', '/list/forward')).body)).toEqual([]);
  }, 60_000);

  it('GET /list shows the packets and bytes each set entry dropped', async () => {
    expect((await curl('isp', 'PUT', `/drop/input/any/${INET}`)).status).toBe(200);
    await sshFromInet('dropped', 'blocked');
    const rows = JSON.parse((await curl('isp', 'GET', '/list/input')).body) as { source: string; pkts: string; bytes: string }[];
    const row = rows.find((r) => r.source === `${INET}/32`)!;
    expect(Number(row.pkts), 'the set element counted the dropped SYNs').toBeGreaterThan(0);
    expect(Number(row.bytes)).toBeGreaterThanOrEqual(40 * Number(row.pkts));
  });

  it('sets made without counters (an older Gatehouse) are left alone by an apply and migrated at API start, never unblocked', async () => {
    await stopApi();
    const old = (name: string, extra: string) =>
      lab.exec('gw', 'ipset', ['restore'], [`create gh-old ${extra}`, `add gh-old ${INET} timeout 0`, `add gh-old 198.51.100.77 timeout 500`, `swap gh-old ${name}`, 'destroy gh-old'].join('\n') + '\n');
    await old('ghbl-drop-input-4', 'hash:net family inet maxelem 1048576 timeout 0');
    expect(await lab.exec('gw', 'ipset', ['list', '-t', 'ghbl-drop-input-4'])).not.toContain('counters');
    // An apply never rewrites a run-time set (an API may be writing it): the old set stays, whole.
    await gh.adjust();
    const applied = await lab.exec('gw', 'ipset', ['save', 'ghbl-drop-input-4']);
    expect(applied).not.toContain('counters');
    expect(applied).toMatch(/add ghbl-drop-input-4 198\.51\.100\.77 timeout (49\d|500)$/m);
    await sshFromInet('dropped', 'the entry is still in the old set after the apply');
    // The API's start rebuilds every set from its database into sets with counters, swapping each in.
    await startApi();
    const migrated = await lab.exec('gw', 'ipset', ['save', 'ghbl-drop-input-4']);
    expect(migrated).toMatch(/create ghbl-drop-input-4 .*counters/);
    expect(migrated).toMatch(new RegExp(`add ghbl-drop-input-4 ${INET.replace(/\./g, '\\.')} timeout 0 packets \\d+ bytes \\d+`));
    // 198.51.100.77 was put in the kernel by hand, never in the database: the database is what the API loads.
    expect(migrated).not.toContain('198.51.100.77');
    await sshFromInet('dropped', 'the API reloaded the entry into a set with counters');
    expect((await lab.exec('gw', 'ipset', ['list', '-n'])).split('\n').filter((n) => n.startsWith('gh-migrate-') || n.startsWith('ghbl-next-'))).toEqual([]);
    expect((await curl('isp', 'DELETE', `/drop/input/any/${INET}`)).status).toBe(200);
    await sshFromInet('accepted', 'deleted');
  }, 60_000);

  it('gatehouse start while the API runs leaves the sets to it (a rebuild from the database could drop a block the API just made); stopped, it rebuilds them', async () => {
    if (!api) await startApi();
    expect((await curl('isp', 'PUT', `/drop/input/any/${INET}`)).status).toBe(200);
    // An element the database does not hold, as a change the API made in the kernel and had not yet recorded would be.
    await lab.exec('gw', 'ipset', ['add', 'ghbl-drop-input-4', '198.51.100.78']);
    const start = await gh.gatehouse(['start', '--apply', `netns:${lab.ns.gw}`]);
    expect(start.code, start.stderr).toBe(0);
    expect(await lab.exec('gw', 'ipset', ['list', 'ghbl-drop-input-4']), 'false accept: the running API\'s kernel change was rebuilt away').toContain('198.51.100.78');
    expect(start.stdout).toContain('blocklist: left to the running API');
    await sshFromInet('dropped', 'still blocked after gatehouse start');
    await stopApi();
    const again = await gh.gatehouse(['start', '--apply', `netns:${lab.ns.gw}`]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('blocklist: 1 entries loaded');
    expect(await lab.exec('gw', 'ipset', ['list', 'ghbl-drop-input-4'])).not.toContain('198.51.100.78');
    await sshFromInet('dropped', 'rebuilt from the database');
    await startApi();
    expect((await curl('isp', 'DELETE', `/drop/input/any/${INET}`)).status).toBe(200);
    await sshFromInet('accepted', 'deleted');
  }, 90_000);

  it("the README's API commands work as written (its configuration line, then its curl lines from the allowed client)", async () => {
    const readme = readFileSync(join(projectDir, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The REST API and the blocklist'), readme.indexOf('## At boot'));
    const lines = section.split('\n').filter((l) => l.startsWith('    db ') || l.startsWith('    curl ')).map((l) => l.trim());
    expect(lines.filter((l) => l.startsWith('curl ')).length).toBeGreaterThanOrEqual(5);
    const dbLine = lines.find((l) => l.startsWith('db '))!;
    await gh.db(...dbLine.split(/\s+/).slice(1));
    await stopApi();
    const passwd = spawn(process.execPath, [join(projectDir, 'bin/gatehouse.js'), 'api', '--root', gh.root, '--passwd', 'fleet'], { stdio: ['pipe', 'ignore', 'inherit'] });
    passwd.stdin!.end('a long password\n');
    await new Promise((resolve) => passwd.once('exit', resolve));
    await startApi();
    for (const line of lines.filter((l) => l.startsWith('curl '))) {
      // As typed, from the README's allowed client (the internet host), where tls.crt is.
      const out = await lab.exec('inet', 'sh', ['-c', `cd ${join(gh.root, 'etc/gatehouse/api')} && ${line} -sS -m 5`]);
      const answer = JSON.parse(out) as unknown;
      expect(answer, line).not.toHaveProperty('error');
    }
    expect(await lab.exec('gw', 'ipset', ['list', 'ghbl-drop-input-4'])).toContain('198.51.100.77');
    expect((await lab.exec('gw', 'iptables', ['-S', 'runtime-blocklist-drop'])).split('\n').filter((l) => l.startsWith('-A')), 'the README deletes the pair it adds').toEqual([]);
  }, 60_000);
});
