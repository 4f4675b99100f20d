import { describe, expect, it } from 'vitest';
import { changeScript, fullScript, hookScript, ownedView, parseLayout, parseSave, stateChain } from '../../src/plan/parts/owned.js';
import { describeError } from '../../src/errors/index.js';

const plan = (extra: string[] = [], web = 'ACCEPT') =>
  [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':dnat@red - [0:0]',
    '-A PREROUTING -i red0 -j dnat@red',
    '-A POSTROUTING -o red0 -j MASQUERADE',
    '-A dnat@red -p tcp --dport 8080 -j DNAT --to-destination 192.168.20.10:80',
    'COMMIT',
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':green-orange - [0:0]',
    ':red-orange - [0:0]',
    '-A INPUT -i lo -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A FORWARD -i green0 -o orange0 -j green-orange',
    '-A FORWARD -i red0 -o orange0 -j red-orange',
    `-A green-orange -p tcp --dport 80 -j ${web}`,
    '-A red-orange -j DROP',
    ...extra,
    'COMMIT',
  ].join('\n') + '\n';

/** What dockerd leaves in the kernel, with Gatehouse's chains of `plan()` loaded before it restarted. */
const kernel = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
:dnat@red - [0:0]
:gatehouse-PREROUTING - [0:0]
:gatehouse-POSTROUTING - [0:0]
:gatehouse-state-000000000000 - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A PREROUTING -j gatehouse-PREROUTING
-A POSTROUTING -j gatehouse-POSTROUTING
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A dnat@red -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.20.10:80
-A gatehouse-PREROUTING -i red0 -j dnat@red
-A gatehouse-POSTROUTING -o red0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
:gone-chain - [0:0]
:gatehouse-FORWARD - [0:0]
:gatehouse-state-000000000000 - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j gatehouse-FORWARD
-A FORWARD -o docker0 -j DOCKER
-A DOCKER-USER -j RETURN
-A gatehouse-FORWARD -j gone-chain
-A gone-chain -j DROP
COMMIT
`;

describe('the chains Gatehouse owns (layout of a plan)', () => {
  it('moves the rules of built-in chains into gatehouse-<chain>, keeps policies and the plan’s chains', () => {
    const layout = parseLayout(plan(), 'rules.v4');
    const filter = layout.tables.find((t) => t.table === 'filter')!;
    expect(filter.policies).toEqual([
      ['INPUT', 'DROP'],
      ['FORWARD', 'DROP'],
      ['OUTPUT', 'ACCEPT'],
    ]);
    expect(filter.hooks).toEqual([
      { chain: 'INPUT', wrapper: 'gatehouse-INPUT' },
      { chain: 'FORWARD', wrapper: 'gatehouse-FORWARD' },
    ]);
    expect([...filter.chains.keys()]).toEqual(['gatehouse-INPUT', 'gatehouse-FORWARD', 'green-orange', 'red-orange']);
    expect(filter.chains.get('gatehouse-FORWARD')).toContain('-A gatehouse-FORWARD -i green0 -o orange0 -j green-orange');
    expect(layout.tables.map((t) => t.table)).toEqual(['nat', 'filter']);
  });

  it('the digest of a table changes with any rule of it, and only of it', () => {
    const a = parseLayout(plan(), 'r');
    const b = parseLayout(plan([], 'DROP'), 'r');
    expect(a.tables[0]!.digest).toBe(b.tables[0]!.digest);
    expect(a.tables[1]!.digest).not.toBe(b.tables[1]!.digest);
  });

  it('refuses what cannot be owned chain by chain, naming the line', () => {
    expect(() => parseLayout(plan([':gatehouse-x - [0:0]']), 'rules.v4')).toThrow(/named like the chains Gatehouse makes itself/);
    try {
      parseLayout(plan(['-I INPUT 1 -j ACCEPT']), 'rules.v4');
      expect.unreachable();
    } catch (e) {
      expect(describeError(e)).toMatch(/rules\.v4:23.*not an append/);
    }
    expect(() => parseLayout(plan(['-A nowhere -j ACCEPT']), 'rules.v4')).toThrow(/does not declare/);
  });

  it('Docker integration: FORWARD only jumps to DOCKER-USER (kept, never removed), Gatehouse’s rules hook into DOCKER-USER', () => {
    const text = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':DOCKER-USER - [0:0]', '-A FORWARD -j DOCKER-USER', '-A DOCKER-USER -i green0 -j ACCEPT', 'COMMIT', ''].join('\n');
    const filter = parseLayout(text, 'r').tables[0]!;
    expect(filter.sharedJumps).toEqual([{ chain: 'FORWARD', rule: '-j DOCKER-USER' }]);
    expect(filter.hooks).toEqual([{ chain: 'DOCKER-USER', wrapper: 'gatehouse-DOCKER-USER' }]);
    expect(filter.shared).toEqual(['DOCKER-USER']);
    // Docker runs: its DOCKER-USER and its jump are there; Gatehouse neither declares (flushes) nor
    // doubles them, but moves the jump first (another rule above it would decide before Gatehouse).
    const withDocker = fullScript({ tables: [filter] }, parseSave(kernel.replace('-A FORWARD -j DOCKER-USER\n', '-A FORWARD -s 10.9.9.0/24 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n')));
    expect(withDocker).not.toMatch(/^:DOCKER-USER/m);
    const forward = withDocker.split('\n').filter((l) => / FORWARD .*DOCKER-USER/.test(l));
    expect(forward).toEqual(['-D FORWARD -j DOCKER-USER', '-I FORWARD 1 -j DOCKER-USER']);
    expect(withDocker).toMatch(/^-I DOCKER-USER 1 -j gatehouse-DOCKER-USER$/m);
    // Putting the jumps first again moves the shared jump too, below nothing but the hooks.
    expect(hookScript({ tables: [filter] })).toBe(
      ['*filter', '-D FORWARD -j DOCKER-USER', '-I FORWARD 1 -j DOCKER-USER', '-D DOCKER-USER -j gatehouse-DOCKER-USER', '-I DOCKER-USER 1 -j gatehouse-DOCKER-USER', 'COMMIT', ''].join('\n'),
    );
    // And a rule another tool put above it is drift.
    const above = ownedView(
      '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n:gatehouse-DOCKER-USER - [0:0]\n-A FORWARD -s 10.9.9.0/24 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j gatehouse-DOCKER-USER\n-A gatehouse-DOCKER-USER -i green0 -j ACCEPT\nCOMMIT\n',
      { tables: [filter] },
    );
    expect(above).toContain("FORWARD: 1 rule(s) of other tools before Gatehouse's (first: -A FORWARD -s 10.9.9.0/24 -j ACCEPT)");
    // No Docker: DOCKER-USER is made, and FORWARD jumps to it.
    const bare = fullScript({ tables: [filter] }, new Map());
    expect(bare).toMatch(/^:DOCKER-USER - \[0:0\]$/m);
    expect(bare).toMatch(/^-I FORWARD 1 -j DOCKER-USER$/m);
  });
});

describe('the full script (from whatever the kernel holds)', () => {
  it('rewrites Gatehouse’s chains, removes the ones it no longer wants, puts its hooks first, and leaves Docker’s alone', () => {
    const script = fullScript(parseLayout(plan(), 'r'), parseSave(kernel), [parseLayout('*filter\n:gone-chain - [0:0]\nCOMMIT\n', 'r')]);
    const lines = script.split('\n');
    expect(lines.filter((l) => /DOCKER/.test(l))).toEqual([]);
    expect(lines).toContain(':gone-chain - [0:0]');
    expect(lines).toContain('-X gone-chain');
    expect(lines).toContain('-D FORWARD -j gatehouse-FORWARD');
    expect(lines).toContain('-I FORWARD 1 -j gatehouse-FORWARD');
    expect(lines).toContain('-D PREROUTING -j gatehouse-PREROUTING');
    expect(lines.indexOf('-X gone-chain')).toBeGreaterThan(lines.indexOf('-D FORWARD -j gatehouse-FORWARD'));
    expect(lines).toContain(':INPUT DROP [0:0]');
    expect(lines.filter((l) => l.startsWith('*'))).toEqual(['*nat', '*filter']);
  });
});

describe('upgrading from a Gatehouse that restored whole tables', () => {
  it('a table with chains of the plan before but no state chain was all Gatehouse’s: its built-in chains are emptied first', () => {
    const legacy = parseSave(plan().replace('*filter', '# old\n*filter'));
    const script = fullScript(parseLayout(plan(), 'r'), legacy, [parseLayout(plan(), 'r')]).split('\n');
    expect(script).toContain('-F FORWARD');
    expect(script).toContain('-F POSTROUTING');
    expect(script.filter((l) => l.startsWith('-D '))).toEqual([]);
    // After a reboot (nothing of Gatehouse's in the kernel) nothing is emptied: other tools' rules stay.
    expect(fullScript(parseLayout(plan(), 'r'), parseSave(kernel.replace(/gatehouse-state-0+/g, 'x'))).split('\n')).not.toContain('-F FORWARD');
  });
});

describe('the change script (from the plan the kernel holds)', () => {
  const before = parseLayout(plan(), 'r');

  it('rewrites only the chains that changed, after checking the kernel holds the plan before', () => {
    const next = parseLayout(plan([], 'DROP'), 'r');
    const change = changeScript(before, next)!;
    expect(change.changed).toBe(1);
    const filter = change.script.split('*filter\n')[1]!.split('\n');
    expect(filter.slice(0, 2)).toEqual([`-X ${stateChain(before.tables[1]!.digest)}`, `:${stateChain(next.tables[1]!.digest)} - [0:0]`]);
    expect(filter.filter((l) => /^:[a-z]/.test(l) && !l.startsWith(':gatehouse-state-'))).toEqual([':green-orange - [0:0]']);
    expect(filter.filter((l) => l.startsWith('-A '))).toEqual(['-A green-orange -p tcp --dport 80 -j DROP']);
    // Nothing that needs the rules already in the kernel (iptables-nft would read them all).
    expect(change.script).not.toMatch(/^-[CD] /m);
    // The nat table did not change: its state chain checked and kept, nothing rewritten.
    const nat = change.script.split('*filter\n')[0]!;
    expect(nat.split('\n').filter((l) => /^[-:][^A-Z]/.test(l) && !/gatehouse-state-/.test(l))).toEqual([]);
  });

  it('putting the jumps first again is a separate restore of the built-in chains only', () => {
    expect(hookScript(before)).toBe(
      ['*nat', '-D PREROUTING -j gatehouse-PREROUTING', '-I PREROUTING 1 -j gatehouse-PREROUTING', '-D POSTROUTING -j gatehouse-POSTROUTING', '-I POSTROUTING 1 -j gatehouse-POSTROUTING', 'COMMIT',
        '*filter', '-D INPUT -j gatehouse-INPUT', '-I INPUT 1 -j gatehouse-INPUT', '-D FORWARD -j gatehouse-FORWARD', '-I FORWARD 1 -j gatehouse-FORWARD', 'COMMIT', ''].join('\n'),
    );
  });

  it('a chain that goes is flushed, unhooked and removed; a new one made', () => {
    const next = parseLayout(plan().replace(':red-orange - [0:0]\n', ':red-orange - [0:0]\n:extra - [0:0]\n').replace('-A red-orange -j DROP\n', '-A red-orange -j extra\n-A extra -j DROP\n'), 'r');
    const change = changeScript(next, before)!;
    expect(change.script).toMatch(/^:extra - \[0:0\]$/m);
    expect(change.script).toMatch(/^-X extra$/m);
    expect(change.changed).toBe(2);
    // red-orange lost its jump to extra before extra goes; the hooks did not change, so they are not touched.
    expect(change.script).not.toMatch(/^-[DI] /m);
  });

  it('nothing changed: no chain rewritten', () => {
    expect(changeScript(before, parseLayout(plan(), 'r'))!.changed).toBe(0);
  });

  it('needs a look at the kernel when a shared chain comes or goes', () => {
    const docker = parseLayout('*filter\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j ACCEPT\nCOMMIT\n', 'r');
    expect(changeScript(parseLayout('*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n', 'r'), docker)).toBeUndefined();
  });
});

describe('what status compares (the owned view)', () => {
  it('shows policies, hooks, Gatehouse’s chains and who comes before its hooks; not Docker’s chains', () => {
    const view = ownedView(kernel, parseLayout(plan(), 'r'));
    expect(view).not.toMatch(/:DOCKER|-A DOCKER|docker0/);
    expect(view).toContain("PREROUTING: 1 rule(s) of other tools before Gatehouse's (first: -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER)");
    expect(view).toContain("FORWARD: 1 rule(s) of other tools before Gatehouse's (first: -A FORWARD -j DOCKER-USER)");
    expect(view).toContain('-A gatehouse-FORWARD -j gone-chain');
    expect(view).toContain(':green-orange (missing)');
  });
});

describe('long chains are kept in pieces', () => {
  const big = (n: number, edit?: (rules: string[]) => void) => {
    const rules = Array.from({ length: n }, (_, i) => `-A loc-net -s 10.${i >> 16}.${(i >> 8) & 255}.${i & 255} -p tcp --dport ${1000 + (i % 50000)} -j ACCEPT`);
    edit?.(rules);
    return ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':loc-net - [0:0]', '-A FORWARD -j loc-net', ...rules, 'COMMIT', ''].join('\n');
  };

  it('a 5,000-rule chain becomes a short chain of jumps to pieces holding every rule in order', () => {
    const filter = parseLayout(big(5000), 'r').tables[0]!;
    const parent = filter.chains.get('loc-net')!;
    expect(parent.length).toBeGreaterThan(4);
    expect(parent.every((r) => /^-A loc-net -j gatehouse-[0-9a-f]{12}$/.test(r))).toBe(true);
    const all = parent.flatMap((r) => filter.chains.get(r.split(' ').pop()!)!.map((l) => l.replace(/^-A \S+ /, '')));
    expect(all).toEqual(big(5000).split('\n').filter((l) => l.startsWith('-A loc-net ')).map((l) => l.replace(/^-A loc-net /, '')));
    expect(Math.max(...parent.map((r) => filter.chains.get(r.split(' ').pop()!)!.length))).toBeLessThanOrEqual(1024);
  });

  it('changing, adding or removing one rule rewrites one piece and the chain of jumps, not the 5,000 rules', () => {
    const before = parseLayout(big(5000), 'r');
    for (const edit of [
      (r: string[]) => void (r[2500] = '-A loc-net -s 10.99.0.1 -j DROP'),
      (r: string[]) => void r.splice(1234, 0, '-A loc-net -s 10.99.0.2 -j DROP'),
      (r: string[]) => void r.splice(4321, 1),
    ]) {
      const change = changeScript(before, parseLayout(big(5000, edit), 'r'))!;
      const appended = change.script.split('\n').filter((l) => l.startsWith('-A '));
      expect(change.changed).toBeLessThanOrEqual(4);
      expect(appended.length).toBeLessThan(700);
    }
  });

  it('a chain with RETURN rules stays whole (a RETURN in a piece would only leave the piece)', () => {
    const filter = parseLayout(big(2000, (r) => void (r[10] = '-A loc-net -s 10.99.0.3 -j RETURN')), 'r').tables[0]!;
    expect(filter.chains.get('loc-net')).toHaveLength(2000);
  });
});

describe('run-time chains (runtime-..., the API’s blocklist pairs)', () => {
  const withRuntime = plan([':runtime-blocklist-drop - [0:0]', '-A green-orange -j runtime-blocklist-drop']);
  const stopped = '*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n';
  const holding = kernel.replace(':gone-chain - [0:0]', ':gone-chain - [0:0]\n:runtime-blocklist-drop - [0:0]').replace('-A gone-chain -j DROP', '-A gone-chain -j DROP\n-A runtime-blocklist-drop -s 203.0.113.7/32 -d 192.168.1.10/32 -j DROP');

  it('are created when missing, and when present never declared (a --noflush declaration would empty them) nor deleted', () => {
    const layout = parseLayout(withRuntime, 'r');
    expect(fullScript(layout, parseSave(kernel)).split('\n')).toContain(':runtime-blocklist-drop - [0:0]');
    const again = fullScript(layout, parseSave(holding)).split('\n');
    expect(again.filter((l) => l.includes('runtime-blocklist-drop'))).toEqual(['-A green-orange -j runtime-blocklist-drop']);
  });

  it('survive a stop and a rollback to a plan without them: never flushed or removed', () => {
    const script = fullScript(parseLayout(stopped, 's'), parseSave(holding), [parseLayout(withRuntime, 'r')]).split('\n');
    expect(script.filter((l) => l.includes('runtime-'))).toEqual([]);
  });

  it('a plan holds no rules for them; the owned view shows them present, never their rules', () => {
    expect(() => parseLayout(plan([':runtime-x - [0:0]', '-A runtime-x -j DROP']), 'r')).toThrow(/rule for run-time chain runtime-x/);
    const layout = parseLayout(withRuntime, 'r');
    expect(ownedView(holding, layout)).toContain(':runtime-blocklist-drop (run-time)');
    expect(ownedView(holding, layout)).not.toContain('203.0.113.7');
    expect(ownedView(kernel, layout)).toContain(':runtime-blocklist-drop (run-time, missing)');
  });

  it('the change script leaves them alone, and needs a look at the kernel when one comes or goes', () => {
    const before = parseLayout(withRuntime, 'r');
    const next = parseLayout(withRuntime.replace('--dport 80 -j ACCEPT', '--dport 81 -j ACCEPT'), 'r');
    expect(changeScript(before, next)!.script).not.toContain(':runtime-blocklist-drop');
    expect(changeScript(parseLayout(plan(), 'r'), before)).toBeUndefined();
  });
});

describe('very long chains', () => {
  it('a chain of 200,000 rules that stays whole (it has a RETURN) is written without overflowing the stack', () => {
    const rules = Array.from({ length: 200_000 }, (_, i) => `-A loc-net -s 10.${i >> 16}.${(i >> 8) & 255}.${i & 255} -j ACCEPT`);
    const text = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':loc-net - [0:0]', '-A FORWARD -j loc-net', '-A loc-net -p udp -j RETURN', ...rules, 'COMMIT', ''].join('\n');
    const layout = parseLayout(text, 'rules.v4');
    const full = fullScript(layout, new Map());
    expect(full.split('\n').filter((l) => l.startsWith('-A loc-net ')).length).toBe(200_001);
    const changed = changeScript(parseLayout(text.replace('-A loc-net -p udp -j RETURN', '-A loc-net -p tcp -j RETURN'), 'rules.v4'), layout)!;
    expect(changed.script.split('\n').filter((l) => l.startsWith('-A loc-net ')).length).toBe(200_001);
  });
});
