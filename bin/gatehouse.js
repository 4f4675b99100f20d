#!/usr/bin/env node
import { main } from '../dist/src/cli/gatehouse.js';

process.exitCode = await main(process.argv.slice(2));
