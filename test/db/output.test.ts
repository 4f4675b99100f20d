/**
 * Every command writes all of its output before it exits, to a pipe, a file or a
 * terminal, and exits non-zero when it could not (a reader closing the pipe early aside).
 * 100,000 hosts make an output far larger than a pipe's 64 KiB buffer.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Roots, buildProject, dbBin, projectDir } from './run-db.js';

const run = promisify(execFile);
const roots = new Roots();
const HOSTS = 100_000;
let big: string;

/** Run a bash pipeline with pipefail; never rejects. */
async function sh(script: string, root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('bash', ['-o', 'pipefail', '-c', script], {
      env: { ...process.env, GATEHOUSE_ROOT: root, DB: `${process.execPath} ${dbBin}`, BIN: join(projectDir, 'bin') },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

beforeAll(async () => {
  await buildProject();
  big = await roots.make();
  const hosts: Record<string, { type: string; props: Record<string, string> }> = {};
  for (let i = 0; i < HOSTS; i++) {
    hosts[`h${i}`] = { type: 'host', props: { IpAddress: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, Description: `host number ${i}` } };
  }
  await mkdir(join(big, 'var/lib/gatehouse/db'), { recursive: true });
  await writeFile(join(big, 'var/lib/gatehouse/db/hosts.json'), JSON.stringify(hosts));
}, 120_000);
afterAll(() => roots.cleanup());

describe('db output on 100,000 records', () => {
  it('keys through a pipe gives every key', async () => {
    const r = await sh('$DB hosts keys | wc -l', big);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe(String(HOSTS));
  });

  it('export through a pipe gives every byte, the same as to a file', async () => {
    const r = await sh('$DB hosts export > "$GATEHOUSE_ROOT/export.txt" && $DB hosts export | cmp - "$GATEHOUSE_ROOT/export.txt" && wc -l < "$GATEHOUSE_ROOT/export.txt"', big);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    // 6 header lines and one line per host.
    expect(Number(r.stdout.trim())).toBe(HOSTS + 6);
  });

  it('export piped into import in another root brings every record, the last one whole', async () => {
    const other = await roots.make();
    const r = await sh(`$DB hosts export | GATEHOUSE_ROOT=${other} $DB hosts import - >/dev/null && GATEHOUSE_ROOT=${other} $DB hosts keys | wc -l && GATEHOUSE_ROOT=${other} $DB hosts getprop h99999 Description`, big);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${HOSTS}\nhost number 99999\n`);
  });

  it('show and printjson through a pipe are complete', async () => {
    const show = await sh('$DB hosts show | tail -1', big);
    expect(show).toMatchObject({ code: 0, stdout: '    IpAddress=10.1.134.159\n', stderr: '' });
    const json = await sh('$DB hosts printjson | node -e "let s=\'\';process.stdin.on(\'data\',d=>s+=d).on(\'end\',()=>console.log(JSON.parse(s).length))"', big);
    expect(json).toMatchObject({ code: 0, stdout: `${HOSTS}\n`, stderr: '' });
  });

  it('a reader that stops early (head -c) is not an error: exit 0, nothing on stderr', async () => {
    for (const verb of ['keys', 'export', 'show', 'printjson']) {
      const r = await sh(`$DB hosts ${verb} | head -c 100 > /dev/null`, big);
      expect(r, verb).toMatchObject({ code: 0, stderr: '' });
    }
  });

  it('output that cannot be written (a full disk) exits 1 and says so', async () => {
    const r = await sh('$DB hosts export > /dev/full', big);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('db: could not write the output: no space left on device; it is incomplete\n');
  });

  it('config writes to a full disk fail the same way', async () => {
    const r = await sh('node $BIN/config.js show > /dev/full', big);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^config: could not write the output: no space left on device/);
  });
});

describe('the other commands', () => {
  it('expand-template --stdout through a pipe is complete, and a closed pipe is not an error', async () => {
    const root = await roots.make();
    const whole = await sh('node $BIN/expand-template.js --stdout /etc/shorewall/rules /etc/shorewall/policy | wc -c', root);
    expect(whole).toMatchObject({ code: 0, stderr: '' });
    const file = await sh('node $BIN/expand-template.js --stdout /etc/shorewall/rules /etc/shorewall/policy > "$GATEHOUSE_ROOT/out" && wc -c < "$GATEHOUSE_ROOT/out"', root);
    expect(whole.stdout.trim()).toBe(file.stdout.trim());
    expect(await sh('node $BIN/expand-template.js --stdout /etc/shorewall/rules | head -c 1 >/dev/null', root)).toMatchObject({ code: 0, stderr: '' });
  });

  it('expand-template --stdout to a full disk exits 1', async () => {
    const root = await roots.make();
    const r = await sh('node $BIN/expand-template.js --stdout /etc/shorewall/rules > /dev/full', root);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^expand-template: could not write the output: no space left on device/);
  });
});
