/**
 * Shorewall's own files, unchanged: the sample configurations of Debian's shorewall and
 * shorewall6 packages (one-, two-, three-interfaces, Universal) and the stock
 * shorewall.conf / shorewall6.conf compile as Shorewall reads them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/index.js';
import { parseShorewall, readShorewallDir } from '../../src/shorewall/index.js';

const SAMPLES = ['one-interface', 'two-interfaces', 'three-interfaces', 'Universal'];
const PRODUCTS = [
  { family: 4 as const, examples: '/usr/share/doc/shorewall/examples', conf: '/usr/share/shorewall/configfiles/shorewall.conf', confName: 'shorewall.conf' },
  { family: 6 as const, examples: '/usr/share/doc/shorewall6/examples', conf: '/usr/share/shorewall6/configfiles/shorewall6.conf', confName: 'shorewall6.conf' },
];

describe.each(PRODUCTS)('Shorewall $family samples compile unchanged', (product) => {
  const why = existsSync(product.examples) ? undefined : `${product.examples} is missing (install shorewall and shorewall6)`;
  if (why) console.warn('skipped: ' + why);

  it.skipIf(why).each(SAMPLES)('%s', async (sample) => {
    const dir = join(product.examples, sample);
    const files = await readShorewallDir(dir);
    const config = parseShorewall(files, { family: product.family, dir });
    const plan = compile(product.family === 4 ? config : parseShorewall(await readShorewallDir(join(PRODUCTS[0]!.examples, sample)), { family: 4, dir }), product.family === 6 ? config : undefined);
    expect(product.family === 4 ? plan.rulesV4 : plan.rulesV6).toContain('*filter');
  });

  it.skipIf(why)(`the stock ${product.confName} with the two-interfaces files`, async () => {
    const files = await readShorewallDir(join(product.examples, 'two-interfaces'));
    files[product.confName] = readFileSync(product.conf, 'utf8');
    const config = parseShorewall(files, { family: product.family, dir: 'stock' });
    expect(config.settings.raw['RCP_COMMAND']).toBe('scp ${files} ${root}@${system}:${destination}');
  });
});

export { readdirSync };
