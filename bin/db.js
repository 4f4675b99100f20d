#!/usr/bin/env node
import { main } from '../dist/src/cli/db.js';

process.exitCode = await main(process.argv.slice(2));
