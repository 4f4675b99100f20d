/**
 * The API inside the lab's gateway namespace, driven over TLS with curl from the ISP
 * router (the allowed client), its verdicts proved by probes from the internet host:
 * block, delete, expire, whitelist 409, 401, 403, a firewall-adjust and an API restart
 * between block and probe. A wrong verdict names its kind (false accept or false drop).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, closeLabRoot, expectVerdicts, openLabRoot } from '../e2e/harness.js';
import { projectDir } from '../templates/build.js';

const why =
  labUnavailableReason() ??
  (spawnable('curl') ? undefined : 'curl is not installed') ??
  (blocklistCompiled() ? undefined : 'the compiled ruleset has no blocklist chains yet (src/compile/blocklist.ts waits for the plan\'s run-time sets)');
if (why) console.warn('skipped: ' + why);

/** Whether compiled rulesets jump to the blocklist chains (the hook in src/compile/index.ts). */
function blocklistCompiled(): boolean {
  return readFileSync(join(projectDir, 'src/compile/index.ts'), 'utf8').includes('withBlocklist(');
}

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
    await gh.db('configuration', 'setprop', 'api', 'status', 'enabled', 'access', 'red', 'AllowedClients', '203.0.113.1', 'Whitelist', '198.51.100.200');
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
  });

  it('a restart of the API keeps the block (and so does the time the API is down)', async () => {
    await stopApi();
    await sshFromInet('dropped', 'the kernel keeps the set while the API is down');
    await startApi();
    await sshFromInet('dropped', 'the API reloads its database at start');
    expect((await curl('isp', 'DELETE', `/drop/input/any/${INET}`)).status).toBe(200);
    await sshFromInet('accepted', 'block deleted after the restart');
  });
});
