#!/usr/bin/env node
import { main } from '../dist/bin/signal-event.js';

process.exitCode = await main(process.argv.slice(2));
