#!/usr/bin/env node
import { main } from '../dist/bin/db.js';

// Exit at once: the work is done and written, and tearing down a heap that held a large
// database only costs time (stdout and stderr are synchronous for files and pipes here).
process.exit(await main(process.argv.slice(2)));
