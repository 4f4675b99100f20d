#!/usr/bin/env node
import { main } from '../dist/bin/expand-template.js';

process.exitCode = await main(process.argv.slice(2));
