#!/usr/bin/env node
// `config ARGS` is exactly `db configuration ARGS`, as on NethServer.
import { main } from '../dist/bin/db.js';

// Exit at once, as bin/db.js does: nothing is left to do but tear down the heap.
process.exit(await main(['configuration', ...process.argv.slice(2)]));
