import { describe, expect, it } from 'vitest';
import { VERBS, argumentProblem, parseCommandLine } from '../../src/cli/db.js';

describe('the db command line', () => {
  it('options before the verb are read, values after it are raw', () => {
    expect(parseCommandLine(['--root', '/r', 'hosts', 'setprop', 'pc', 'Note', '--root'])).toEqual({
      root: '/r',
      force: false,
      db: 'hosts',
      verb: 'setprop',
      args: ['pc', 'Note', '--root'],
    });
  });

  it('options between the db name and the verb are read (config puts the db name first)', () => {
    expect(parseCommandLine(['configuration', '--root=/x', 'getprop', 'firewall', 'Policy'])).toMatchObject({ root: '/x', verb: 'getprop' });
  });

  it('--force after the key of delete is the option', () => {
    expect(parseCommandLine(['hosts', 'delete', 'web', '--force'])).toMatchObject({ force: true, args: ['web'] });
  });

  it('help, unknown options, unknown verbs and wrong counts are left to yargs', () => {
    for (const argv of [['--help'], ['--bogus', 'hosts', 'keys'], ['hosts', 'frob'], ['hosts', 'get'], ['hosts'], []]) {
      expect(parseCommandLine(argv)).toBeUndefined();
    }
  });

  it('every verb states its arity and refuses one argument too many', () => {
    for (const [verb, spec] of Object.entries(VERBS)) {
      if (spec.max === Number.POSITIVE_INFINITY) continue;
      expect(argumentProblem(verb, Array.from({ length: spec.max + 1 }, () => 'x'))).toMatch(/too many/);
    }
  });
});
