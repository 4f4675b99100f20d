/**
 * The plain forms `gatehouse compile` reads without yargs (src/cli/gatehouse-compile.ts):
 * what it reads must be what yargs reads, and every other form goes to the whole command.
 */
import { describe, expect, it } from 'vitest';
import { readCompileArgs } from '../../src/cli/gatehouse-compile.js';

describe('readCompileArgs', () => {
  it('reads the options and flags in both spellings', () => {
    expect(readCompileArgs(['compile'])).toEqual({ check: false, verbose: false, explain: false });
    expect(readCompileArgs(['compile', '--root', '/r', '--dir=/d', '--dir6', '/d6', '--out', 'o', '--apply=dry-run', '--addresses', 'a.json', '--check', '--verbose', '--explain'])).toEqual({
      root: '/r',
      dir: '/d',
      dir6: '/d6',
      out: 'o',
      apply: 'dry-run',
      addresses: 'a.json',
      check: true,
      verbose: true,
      explain: true,
    });
    // A value may hold '=' (only the first one ends the name).
    expect(readCompileArgs(['compile', '--root=/a=b'])).toMatchObject({ root: '/a=b' });
  });

  it('leaves every other form to the whole command', () => {
    for (const argv of [
      ['apply'],
      ['compile', '--help'],
      ['compile', '-h'],
      ['compile', '--version'],
      ['compile', 'extra'],
      ['compile', '--bogus'],
      ['compile', '--no-check'],
      ['compile', '--check=false'],
      ['compile', '--check', '--check'],
      ['compile', '--root', '/a', '--root', '/b'],
      ['compile', '--root'],
      ['compile', '--root', ''],
      ['compile', '--root='],
      ['compile', '--root', '--check'],
      ['compile', '--', '--root', '/a'],
      ['compile', '--Root', '/a'],
    ]) {
      expect(readCompileArgs(argv), argv.join(' ')).toBeUndefined();
    }
  });
});
