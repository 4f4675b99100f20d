/** Docker integration in the filter table (src/compile/docker.ts): Gatehouse's forward rules inside DOCKER-USER. */
import { describe, expect, it } from 'vitest';
import { emitRuleset } from '../../src/compile/index.js';
import { withDockerUser } from '../../src/compile/docker.js';
import { TableBuilder } from '../../src/compile/ir.js';

function table() {
  const t = new TableBuilder('filter', { INPUT: 'DROP', FORWARD: 'DROP', OUTPUT: 'DROP' });
  t.add('OUTPUT', [{ kind: 'outInterface', name: 'lo' }], { kind: 'ACCEPT' });
  for (const chain of ['FORWARD', 'OUTPUT']) t.add(chain, [{ kind: 'conntrackState', states: ['ESTABLISHED', 'RELATED'] }], { kind: 'ACCEPT' });
  t.add('FORWARD', [{ kind: 'inInterface', name: 'eth0' }], { kind: 'jump', chain: 'fwd@eth0' });
  t.add('FORWARD', [], { kind: 'jump', chain: 'reject' });
  t.add('OUTPUT', [{ kind: 'outInterface', name: 'eth0' }], { kind: 'jump', chain: 'out@eth0' });
  t.add('OUTPUT', [], { kind: 'jump', chain: 'reject' });
  for (const c of ['fwd@eth0', 'out@eth0', 'reject']) t.chain(c);
  return t.build();
}

const rules = (text: string) => text.split('\n').filter((l) => l.startsWith('-A') || l.startsWith(':DOCKER'));

describe('Docker integration (DOCKER=Yes)', () => {
  it('FORWARD only jumps to DOCKER-USER; Gatehouse’s forward rules go there, with what it leaves undecided on Docker’s bridges returned to Docker', () => {
    expect(rules(emitRuleset({ family: 4, tables: [withDockerUser(table(), ['eth0'])] }))).toEqual([
      ':DOCKER-USER - [0:0]',
      '-A FORWARD -j DOCKER-USER',
      '-A OUTPUT -o lo -j ACCEPT',
      '-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-A OUTPUT -o eth0 -j out@eth0',
      '-A OUTPUT -o docker0 -j ACCEPT',
      '-A OUTPUT -o br-+ -j ACCEPT',
      '-A OUTPUT -j reject',
      '-A DOCKER-USER -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-A DOCKER-USER -i eth0 -j fwd@eth0',
      '-A DOCKER-USER -i docker0 -j RETURN',
      '-A DOCKER-USER -o docker0 -j RETURN',
      '-A DOCKER-USER -i br-+ -j RETURN',
      '-A DOCKER-USER -o br-+ -j RETURN',
      '-A DOCKER-USER -j reject',
    ]);
  });

  it('a Docker bridge that is one of Gatehouse’s interfaces is Gatehouse’s to decide', () => {
    const text = emitRuleset({ family: 4, tables: [withDockerUser(table(), ['eth0', 'docker0'])] });
    expect(text).not.toMatch(/docker0 -j RETURN/);
    expect(text).toMatch(/-i br-\+ -j RETURN/);
  });
});
