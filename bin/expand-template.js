#!/usr/bin/env node
import { main, runCommand } from '../dist/bin/expand-template.js';

// Exits once stdout and stderr have taken all the output (a pipe may still be draining).
await runCommand('expand-template', () => main(process.argv.slice(2)));
