/**
 * Cold-start cost of the `db` command, against a bare `node -e 0` measured in the same
 * run (interleaved, so machine load hits both alike). Goals from issue 2:
 * getprop <= 1.5x bare node, setprop on a 10,000-record fwrules db <= 2.5x.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './_measure.js';

const projectDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dbBin = join(projectDir, 'bin', 'db.js');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 25);

/**
 * CPU time (user + system, ms) of this process's finished children, from /proc (Linux);
 * other engineers load the machine, so CPU time is steadier than wall time.
 */
function childrenCpuMs(): number | undefined {
  try {
    // Fields after the command name: cutime and cstime are the 14th and 15th, in ticks.
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

function timeOnce(args: string[], env: NodeJS.ProcessEnv): { wall: number; cpu: number | undefined } {
  const cpuBefore = childrenCpuMs();
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const cpuAfter = childrenCpuMs();
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return { wall, cpu: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore };
}

/** Mean of the CPU samples: each is whole clock ticks, so only their mean is meaningful. */
function meanCpu(samples: { cpu: number | undefined }[]): number | undefined {
  if (samples.some((s) => s.cpu === undefined)) return undefined;
  return samples.reduce((sum, s) => sum + s.cpu!, 0) / samples.length;
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
  // Warm the page cache, create configuration from its defaults, and give fwrules the
  // form db writes (the file above has the indent of older versions).
  timeOnce([dbBin, 'configuration', 'setprop', 'firewall', 'Policy', 'permissive'], env);
  timeOnce([dbBin, 'fwrules', 'setprop', '5000', 'Description', 'warm-up'], env);

  const cases: { name: string; args: (i: number) => string[]; goal: number }[] = [
    { name: 'db configuration getprop firewall Policy', args: () => [dbBin, 'configuration', 'getprop', 'firewall', 'Policy'], goal: 1.5 },
    {
      name: 'db fwrules setprop (10,000 records)',
      // A different value each run, so every run really writes.
      args: (i) => [dbBin, 'fwrules', 'setprop', '5000', 'Description', `bench ${i}`],
      goal: 2.5,
    },
  ];
  const bare: { wall: number; cpu: number | undefined }[] = [];
  const timings = cases.map(() => [] as { wall: number; cpu: number | undefined }[]);
  for (let i = 0; i < RUNS; i++) {
    bare.push(timeOnce(['-e', '0'], env));
    cases.forEach((c, k) => timings[k]!.push(timeOnce(c.args(i), env)));
  }
  const base = median(bare.map((t) => t.wall));
  const baseCpu = meanCpu(bare);
  const cpuText = (cpu: number | undefined): string =>
    cpu === undefined || baseCpu === undefined ? '' : `   cpu ${cpu.toFixed(0).padStart(4)} ms ${(cpu / baseCpu).toFixed(2)}x`;
  console.log(`runs: ${RUNS} each, interleaved; wall: medians; cpu (user+sys): means`);
  console.log(`${'node -e 0'.padEnd(44)} ${base.toFixed(1).padStart(7)} ms   1.00x${cpuText(baseCpu)}`);
  let failed = false;
  cases.forEach((c, k) => {
    const m = median(timings[k]!.map((t) => t.wall));
    const ratio = m / base;
    const verdict = ratio <= c.goal ? 'ok' : 'OVER GOAL';
    if (ratio > c.goal) failed = true;
    console.log(`${c.name.padEnd(44)} ${m.toFixed(1).padStart(7)} ms   ${ratio.toFixed(2)}x  (goal <= ${c.goal}x: ${verdict})${cpuText(meanCpu(timings[k]!))}`);
  });
  if (failed) console.log('note: a goal was missed in this run');
} finally {
  rmSync(root, { recursive: true, force: true });
}
