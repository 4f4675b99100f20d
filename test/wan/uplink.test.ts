/**
 * wan-uplink-update in dry-run: it says what the new state would be and records nothing,
 * so a dry run can never move a real box's traffic at its next apply.
 */
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { wanUplinkUpdate } from '../../src/wan/index.js';

describe('wan-uplink-update in dry-run', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('records no provider state, and says so', async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-uplink-'));
    const wan = join(root, 'var/lib/gatehouse/wan');
    await mkdir(wan, { recursive: true });
    const before = JSON.stringify({ state: 'up', since: '2026-01-01T00:00:00.000Z' }) + '\n';
    await writeFile(join(wan, 'isp1.json'), before);
    const log: string[] = [];
    await wanUplinkUpdate({ root, mode: { kind: 'dry-run' }, provider: 'isp1', state: 'down', log: (l) => log.push(l) });
    await wanUplinkUpdate({ root, mode: { kind: 'dry-run' }, provider: 'isp2', state: 'down', log: (l) => log.push(l) });
    expect(log).toContain('provider isp1 would be down (was up) (dry-run: the state is not recorded)');
    expect(await readFile(join(wan, 'isp1.json'), 'utf8')).toBe(before);
    expect(await readdir(wan)).toEqual(['isp1.json']);
  });
});
