#!/bin/sh
':' //; [ -n "${NODE_EXTRA_CA_CERTS+set}" ] && export GATEHOUSE_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// The line above is for sh, a comment for Node. Run by name (npm link, npm install -g),
// this file starts Node without NODE_EXTRA_CA_CERTS: Node reads that file at every start
// (about 60 ms) and Gatehouse opens no TLS connection. runCommand gives the variable back
// to the programs the command runs. `node bin/<name>.js` starts Node directly, with it.

// Exits once stdout and stderr have taken all the output (a pipe may still be draining).
const argv = process.argv.slice(2);
const whole = () => import('../dist/bin/gatehouse.js').then(({ main }) => main(argv));
if (argv[0] === 'compile') {
  // A compile written plainly runs from its own bundle (no yargs, no other command's code);
  // any other form (help, a usage error) goes on to the whole command.
  const { mainCompile, runCommand } = require('./cached-require.js').requireCached(require.resolve('../dist/bin/compile.cjs'));
  void runCommand('gatehouse', async () => (await mainCompile(argv)) ?? whole());
} else {
  void import('../dist/bin/gatehouse.js').then(({ main, runCommand }) => runCommand('gatehouse', () => main(argv)));
}
