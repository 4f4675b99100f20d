// Shared by bin/db.js and bin/config.js (not a command itself). A verb that only reads
// (getprop, which scripts run many times) loads the read-only bundle, a sixth of the whole
// command's code; whatever that one does not run (a malformed line: help, usage errors)
// goes on to the whole command. Exits once stdout and stderr have taken all the output.
const READS = new Set(['keys', 'get', 'getprop', 'gettype', 'show', 'print', 'printtype', 'printprop', 'printjson', 'getjson', 'showjson', 'export']);

/** The verb: the second word of argv that is not an option (--root takes a value). */
function verbOf(argv) {
  let verb;
  for (let i = 0, words = 0; i < argv.length && words < 2; i++) {
    if (argv[i] === '--root') i++;
    else if (!argv[i].startsWith('-') || argv[i] === '-') verb = words++ === 1 ? argv[i] : undefined;
  }
  return verb;
}

/** Runs `db ARGV` as the command `name` (db, or config for `config ARGS`). */
exports.runDb = function runDb(name, argv) {
  if (READS.has(verbOf(argv))) {
    const { mainRead, runCommand } = require('../dist/bin/db-read.cjs');
    void runCommand(name, async () => (await mainRead(argv)) ?? require('../dist/bin/db.cjs').main(argv), { exit: 'now' });
  } else {
    const { main, runCommand } = require('../dist/bin/db.cjs');
    void runCommand(name, () => main(argv), { exit: 'now' });
  }
};
