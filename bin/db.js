#!/usr/bin/env node
import { main, runCommand } from '../dist/bin/db.js';

// Exits once stdout and stderr have taken all the output (a pipe may still be draining).
await runCommand('db', () => main(process.argv.slice(2)), { exit: 'now' });
