/**
 * Cold-start cost of the `db` command, against a bare `node -e 0` measured in the same
 * run (interleaved, so machine load hits both alike). Goals from issue 2:
 * getprop <= 1.5x bare node, setprop on a 10,000-record fwrules db <= 2.5x.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dbBin = join(projectDir, 'bin', 'db.js');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 25);

function timeOnce(args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fwrulesDatabase(n: number): Record<string, { type: string; props: Record<string, string> }> {
  const db: Record<string, { type: string; props: Record<string, string> }> = {};
  for (let i = 1; i <= n; i++) {
    db[String(i)] = {
      type: 'rule',
      props: {
        Action: i % 3 === 0 ? 'drop' : 'accept',
        Description: `rule ${i}`,
        Dst: `192.168.${(i >> 8) & 255}.${i & 255}`,
        Log: 'none',
        Position: String(i * 10),
        Service: 'fwservice;ssh',
        Src: 'role;green',
        status: 'enabled',
      },
    };
  }
  return db;
}

const root = mkdtempSync(join(tmpdir(), 'gatehouse-bench-db-'));
try {
  const dbDir = join(root, 'var/lib/gatehouse/db');
  mkdirSync(dbDir, { recursive: true });
  writeFileSync(join(dbDir, 'fwrules.json'), JSON.stringify(fwrulesDatabase(10_000), null, 2));
  const env = { ...process.env, GATEHOUSE_ROOT: root };
  // Warm the page cache and create configuration from its defaults.
  timeOnce([dbBin, 'configuration', 'setprop', 'firewall', 'Policy', 'permissive'], env);

  const cases: { name: string; args: (i: number) => string[]; goal: number }[] = [
    { name: 'db configuration getprop firewall Policy', args: () => [dbBin, 'configuration', 'getprop', 'firewall', 'Policy'], goal: 1.5 },
    {
      name: 'db fwrules setprop (10,000 records)',
      // A different value each run, so every run really writes.
      args: (i) => [dbBin, 'fwrules', 'setprop', '5000', 'Description', `bench ${i}`],
      goal: 2.5,
    },
  ];
  const bare: number[] = [];
  const timings = cases.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    bare.push(timeOnce(['-e', '0'], env));
    cases.forEach((c, k) => timings[k]!.push(timeOnce(c.args(i), env)));
  }
  const base = median(bare);
  console.log(`runs: ${RUNS} each, interleaved; medians`);
  console.log(`${'node -e 0'.padEnd(44)} ${base.toFixed(1).padStart(7)} ms   1.00x`);
  let failed = false;
  cases.forEach((c, k) => {
    const m = median(timings[k]!);
    const ratio = m / base;
    const verdict = ratio <= c.goal ? 'ok' : 'OVER GOAL';
    if (ratio > c.goal) failed = true;
    console.log(`${c.name.padEnd(44)} ${m.toFixed(1).padStart(7)} ms   ${ratio.toFixed(2)}x  (goal <= ${c.goal}x: ${verdict})`);
  });
  if (failed) console.log('note: a goal was missed in this run');
} finally {
  rmSync(root, { recursive: true, force: true });
}
