#!/usr/bin/env node
import { main, runCommand } from '../dist/bin/gatehouse.js';

// Exits once stdout and stderr have taken all the output (a pipe may still be draining).
await runCommand('gatehouse', () => main(process.argv.slice(2)));
