#!/bin/sh
':' //; [ -n "${NODE_EXTRA_CA_CERTS+set}" ] && export GATEHOUSE_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// The line above is for sh, a comment for Node. Run by name (npm link, npm install -g),
// this file starts Node without NODE_EXTRA_CA_CERTS: Node reads that file at every start
// (about 60 ms) and Gatehouse opens no TLS connection. runCommand gives the variable back
// to the programs the command runs. `node bin/<name>.js` starts Node directly, with it.
require('./db-dispatch.js').runDb('db', process.argv.slice(2));
