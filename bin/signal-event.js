#!/usr/bin/env node
import { main, runCommand } from '../dist/bin/signal-event.js';

// Exits once stdout and stderr have taken all the output (a pipe may still be draining).
await runCommand('signal-event', () => main(process.argv.slice(2)));
