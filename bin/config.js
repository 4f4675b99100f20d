#!/usr/bin/env node
// `config ARGS` is exactly `db configuration ARGS`, as on NethServer.
import { main } from '../dist/src/cli/db.js';

process.exitCode = await main(['configuration', ...process.argv.slice(2)]);
