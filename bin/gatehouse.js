#!/usr/bin/env node
import { main } from '../dist/bin/gatehouse.js';

process.exitCode = await main(process.argv.slice(2));
