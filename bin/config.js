#!/usr/bin/env node
// `config ARGS` is exactly `db configuration ARGS`, as on NethServer.
import { main, runCommand } from '../dist/bin/db.js';

await runCommand('config', () => main(['configuration', ...process.argv.slice(2)]), { exit: 'now' });
