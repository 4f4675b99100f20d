import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, createLab, labUnavailableReason } from './lab.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

describe.skipIf(why)('the network-namespace lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab();
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('green reaches the DMZ server over tcp, udp and icmp with no firewall', async () => {
    const verdicts = await Promise.all([
      lab.probe('green', 'orange', 'tcp', 8001),
      lab.probe('green', 'orange', 'udp', 8001),
      lab.probe('green', 'orange', 'icmp'),
    ]);
    expect(verdicts).toEqual(['accepted', 'accepted', 'accepted']);
  });

  it('the server sees the client address when nothing translates it', async () => {
    expect(await lab.seenSource('blue', 'orange', 8002)).toBe('192.168.10.10');
  });

  it('the internet cannot answer the LAN without masquerading (the ISP has no private routes)', async () => {
    expect(await lab.probe('green', 'inet', 'tcp', 8003)).toBe('dropped');
  });

  it('IPv6 is routed end to end from the LAN to the internet', async () => {
    expect(await lab.probe('green', 'inet', 'tcp', 8004, { family: 6 })).toBe('accepted');
  });

  it('REJECT is seen as rejected and DROP as dropped, per protocol', async () => {
    await lab.exec(
      'gw',
      'iptables-restore',
      [],
      [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A FORWARD -p tcp --dport 8010 -j REJECT --reject-with tcp-reset',
        '-A FORWARD -p udp --dport 8010 -j REJECT',
        '-A FORWARD -p icmp -d 192.168.20.10 -j REJECT --reject-with icmp-admin-prohibited',
        '-A FORWARD -p tcp --dport 8011 -j DROP',
        '-A FORWARD -p udp --dport 8011 -j DROP',
        '-A FORWARD -p icmp -d 192.168.1.10 -j DROP',
        'COMMIT',
        '',
      ].join('\n'),
    );
    const verdicts = await Promise.all([
      lab.probe('blue', 'orange', 'tcp', 8010),
      lab.probe('blue', 'orange', 'udp', 8010),
      lab.probe('blue', 'orange', 'icmp'),
      lab.probe('blue', 'orange', 'tcp', 8011),
      lab.probe('blue', 'orange', 'udp', 8011),
      lab.probe('blue', 'green', 'icmp'),
    ]);
    expect(verdicts).toEqual(['rejected', 'rejected', 'rejected', 'dropped', 'dropped', 'dropped']);
  });

  it('destroy removes every namespace of the lab', async () => {
    const other = await createLab();
    await other.destroy();
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(left).not.toContain(other.id);
  });
});
