/**
 * `gatehouse qos [--root DIR] [--apply MODE]`: every traffic class of the running plan
 * with its configured rates (as FireQOS made it) and the kernel's live counters
 * (`tc -s class show`). Exit 2 when a class is missing or its rates changed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { createKernelRunner, parseApplyMode } from '../../apply/index.js';
import { resolveRoot } from '../../layout/index.js';
import { planPaths, readRecords } from '../../plan/index.js';
import { type QosRecord, readLiveClasses } from '../../qos/index.js';
import { type RootAndModeArgs, withRootAndMode } from './apply.js';

const kbit = (bits: number): string => `${Math.round(bits / 1000)}kbit`;

export const command: CommandModule<object, RootAndModeArgs> = {
  command: 'qos',
  describe: 'show each traffic class with its rates and live counters',
  builder: (y) => withRootAndMode(y),
  handler: async (args) => {
    const root = resolveRoot(args.root);
    const current = planPaths(root).current;
    const applied = await readFile(join(current, 'applied.json'), 'utf8').then((t) => JSON.parse(t) as { mode: string }, () => undefined);
    const recordText = (await readRecords(current))['qos'];
    if (!applied || recordText === undefined) {
      process.stdout.write('no traffic shaping applied (no plan with a qos part is running)\n');
      return;
    }
    const record = JSON.parse(recordText) as QosRecord;
    const explicit = args.apply ?? process.env['GATEHOUSE_APPLY'];
    const mode = parseApplyMode(explicit || applied.mode);
    for (const w of record.warnings) process.stdout.write(`warning: ${w}\n`);
    if (record.classes.length === 0) {
      process.stdout.write('no interface is shaped (no red interface has both FwInBandwidth and FwOutBandwidth)\n');
      return;
    }
    const live = mode.kind === 'dry-run' ? {} : await readLiveClasses(createKernelRunner(mode), [...new Set(record.classes.map((c) => c.device))]);
    const rows = [['interface', 'class', 'device', 'classid', 'rate', 'ceil', 'sent bytes', 'packets', 'dropped', 'kernel']];
    let missing = 0;
    for (const c of record.classes) {
      const k = live[c.device]?.find((l) => l.classid === c.classid);
      const ok = k !== undefined && Math.abs(k.rate - c.rate) <= 1000 && Math.abs(k.ceil - c.ceil) <= 1000;
      if (!ok && mode.kind !== 'dry-run') missing++;
      rows.push([c.interface, c.class, c.device, c.classid, kbit(c.rate), kbit(c.ceil), String(k?.bytes ?? '-'), String(k?.packets ?? '-'), String(k?.dropped ?? '-'), mode.kind === 'dry-run' ? 'unread' : k === undefined ? 'MISSING' : ok ? 'ok' : `rate ${kbit(k.rate)} ceil ${kbit(k.ceil)}`]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
    if (missing > 0) process.exitCode = 2;
  },
};
