#!/bin/sh
':' //; [ -n "${NODE_EXTRA_CA_CERTS+set}" ] && export GATEHOUSE_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// The line above is for sh, a comment for Node. Run by name (npm link, npm install -g),
// this file starts Node without NODE_EXTRA_CA_CERTS: Node reads that file at every start
// (about 60 ms) and Gatehouse opens no TLS connection. runCommand gives the variable back
// to the programs the command runs. `node bin/<name>.js` starts Node directly, with it.
const argv = process.argv.slice(2);

// A verb that only reads (getprop, which scripts run many times) loads the read-only
// bundle, a sixth of the whole command's code; whatever that one does not run (a
// malformed line: help, usage errors) goes on to the whole command. The verb is the
// second word that is not an option (--root takes a value).
const READS = new Set(['keys', 'get', 'getprop', 'gettype', 'show', 'print', 'printtype', 'printprop', 'printjson', 'getjson', 'showjson', 'export']);
let verb;
for (let i = 0, words = 0; i < argv.length && words < 2; i++) {
  if (argv[i] === '--root') i++;
  else if (!argv[i].startsWith('-') || argv[i] === '-') verb = words++ === 1 ? argv[i] : undefined;
}

// Exits once stdout and stderr have taken all the output (a pipe may still be draining).
if (READS.has(verb)) {
  const { mainRead, runCommand } = require('../dist/bin/db-read.cjs');
  void runCommand('db', async () => (await mainRead(argv)) ?? require('../dist/bin/db.cjs').main(argv), { exit: 'now' });
} else {
  const { main, runCommand } = require('../dist/bin/db.cjs');
  void runCommand('db', () => main(argv), { exit: 'now' });
}
