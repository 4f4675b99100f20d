/**
 * Gatehouse owns chains, not tables. A plan's ruleset is written as complete tables (every
 * built-in chain with its policy, every chain of Gatehouse's, every rule); this module turns
 * it into what Gatehouse really puts in the kernel, beside whatever other tools (Docker,
 * libvirt, fail2ban) keep there:
 *
 * - the rules a plan puts in a built-in chain go into a chain of Gatehouse's own,
 *   `gatehouse-INPUT`, `gatehouse-FORWARD`, ..., and the built-in chain gets one jump to it,
 *   always first: Gatehouse decides before anyone else, and what it leaves undecided meets
 *   the other tools' rules, then the policy;
 * - the built-in chains' policies are Gatehouse's;
 * - the plan's own chains are Gatehouse's, whole: flushed and refilled;
 * - shared chains (Docker's `DOCKER-USER`) are another tool's: never flushed or deleted,
 *   created when missing; Gatehouse's rules for them go into `gatehouse-DOCKER-USER`, jumped
 *   to first. A built-in chain's rule that only jumps to a shared chain (`-A FORWARD -j
 *   DOCKER-USER`) is kept present but never removed: the other tool needs it too;
 * - run-time chains (`runtime-...`, the API's blocklist pair rules) are filled by another
 *   Gatehouse program between applies, like the run-time sets: the plan declares them
 *   (its rules may jump to them) and holds no rules for them; they are created when
 *   missing and never flushed or deleted, by apply, rollback or stop;
 * - every table holds an empty chain `gatehouse-state-<digest>`, named after what Gatehouse
 *   holds in that table, renamed (deleted and made) in the same transaction as the rest.
 *
 * Everything is loaded with `iptables-restore --noflush`, one invocation per family, each
 * table one transaction. A change from a plan the kernel is known to hold only rewrites the
 * chains that changed: each table first deletes the state chain of the plan before, which
 * fails (and fails the restore, nothing of that table committed) when the kernel holds
 * anything else; then the caller rewrites every chain Gatehouse owns from a save of the
 * kernel. The change script asks nothing of the rules already in the kernel (no -C, no
 * delete by rule), so iptables-nft need not read them: that read costs as much as a save.
 * Putting Gatehouse's jumps first again is a separate, small restore (hookScript).
 */
import { createHash } from 'node:crypto';
import { GatehouseError } from '../../errors/index.js';

/** Every chain named so is Gatehouse's, whatever plan made it. */
export const OWNED_PREFIX = 'gatehouse-';
/** Every table holds one empty chain named after the digest of what Gatehouse holds there. */
export const STATE_PREFIX = 'gatehouse-state-';

export function stateChain(digest: string): string {
  return `${STATE_PREFIX}${digest.slice(0, 12)}`;
}

export const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Chains filled at run time (see the file comment): created when missing, never flushed or deleted. */
export const RUNTIME_CHAIN_PREFIX = 'runtime-';

function isRuntime(chain: string): boolean {
  return chain.startsWith(RUNTIME_CHAIN_PREFIX);
}

/** Other tools' chains Gatehouse hooks into like a built-in one, by table. */
export const SHARED_CHAINS: Readonly<Record<string, readonly string[]>> = { filter: ['DOCKER-USER'] };

const TABLE_ORDER = ['raw', 'mangle', 'nat', 'filter', 'security'];

/** A jump, first in a built-in or shared chain, to the chain of Gatehouse's holding the plan's rules for it. */
export interface Hook {
  chain: string;
  wrapper: string;
}

export interface TableLayout {
  table: string;
  /** Built-in chain -> policy, as the plan declares them. */
  policies: [string, string][];
  hooks: Hook[];
  /** Rules kept in a built-in chain that only jump to a shared chain: ensured, never removed. */
  sharedJumps: { chain: string; rule: string }[];
  /** Shared chains the plan uses: created when missing. */
  shared: string[];
  /** Run-time chains the plan declares: created when missing, their rules never touched. */
  runtime: string[];
  /** Gatehouse's chains (hook targets first) -> their rules, as `-A chain ...` lines. */
  chains: Map<string, string[]>;
  /** Digest of all of the above: what `gatehouse-state` holds. */
  digest: string;
}

export interface Layout {
  tables: TableLayout[];
}

function isBuiltin(table: string, chain: string): boolean {
  return BUILTIN_CHAINS[table]?.includes(chain) ?? false;
}

function isShared(table: string, chain: string): boolean {
  return SHARED_CHAINS[table]?.includes(chain) ?? false;
}

export function wrapperName(chain: string): string {
  return `${OWNED_PREFIX}${chain}`;
}

/** `-A CHAIN rest` (counters allowed in front) -> [CHAIN, rest]. */
function splitRule(line: string): [string, string] | undefined {
  const m = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)\s*(.*)$/.exec(line);
  return m ? [m[1]!, m[2]!] : undefined;
}

/** The chain a rule jumps or goes to, if it names one (`-j NAME` / `-g NAME` ending the rule). */
function jumpTarget(rest: string): string | undefined {
  return /(?:^|\s)-[jg]\s+(\S+)$/.exec(rest)?.[1];
}

/** Chains longer than this are kept in pieces (see withPieces). */
export const LONG_CHAIN = 1024;
const PIECE_MAX = 512;
const PIECE_MIN = 32;
/** One rule in this many ends a piece, chosen by the rule's text. */
const PIECE_SPREAD = 128;

/** FNV-1a of a rule's text: cheap, and the same for the same text in every run. */
function ruleHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** `-A CHAIN rest`, as a save shows it (a rule with no matches and no target is `-A CHAIN`). */
function appendRule(chain: string, rest: string): string {
  return rest === '' ? `-A ${chain}` : `-A ${chain} ${rest}`;
}

/**
 * Chains given as their rules after `-A CHAIN`, written out whole. A long chain is kept in
 * the kernel as a chain of jumps to pieces of a few hundred rules, `gatehouse-<digest>`, so
 * a one-rule change in a zone pair of 5,000 rules rewrites one piece and the short chain of
 * jumps, not 5,000 rules. Pieces end where a rule's own text says
 * so (one rule in PIECE_SPREAD, between PIECE_MIN and PIECE_MAX rules), so inserting or
 * removing a rule moves no boundary elsewhere; a piece is named after its rules, so an
 * unchanged piece keeps its name. Falling off a piece continues with the next one, exactly
 * as in the whole chain; a chain with RETURN or goto rules is left whole (a RETURN in a piece
 * would only leave the piece).
 */
function withPieces(chains: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, rests] of chains) {
    if (rests.length <= LONG_CHAIN || rests.some((r) => /(?:^|\s)(?:-j\s+RETURN|-g\s)/.test(r) || /(?:^|\s)-j\s+RETURN$/.test(r))) {
      out.set(name, rests.map((r) => appendRule(name, r)));
      continue;
    }
    const pieces: string[][] = [];
    let piece: string[] = [];
    for (const rest of rests) {
      piece.push(rest);
      if (piece.length >= PIECE_MAX || (piece.length >= PIECE_MIN && ruleHash(rest) % PIECE_SPREAD === 0)) {
        pieces.push(piece);
        piece = [];
      }
    }
    if (piece.length > 0) pieces.push(piece);
    const named = pieces.map((p) => {
      const piece = `${OWNED_PREFIX}${createHash('sha256').update(name).update('\n').update(p.join('\n')).digest('hex').slice(0, 12)}`;
      return [piece, p.map((r) => appendRule(piece, r))] as const;
    });
    out.set(name, named.map(([piece]) => `-A ${name} -j ${piece}`));
    for (const [piece, pieceRules] of named) out.set(piece, pieceRules);
  }
  return out;
}

function digestOf(t: Omit<TableLayout, 'digest'>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([t.table, t.policies, t.hooks, t.sharedJumps, t.shared, ...(t.runtime.length > 0 ? [t.runtime] : [])]));
  for (const [name, rules] of t.chains) h.update(`\n:${name}\n${rules.join('\n')}`);
  return h.digest('hex').slice(0, 24);
}

/**
 * The layout of a plan's ruleset (checked by checkRestoreText before). Refuses what cannot
 * be owned chain by chain: rules that are not appends, chains named like Gatehouse's own.
 */
export function parseLayout(text: string, file: string): Layout {
  const tables: TableLayout[] = [];
  let table: string | undefined;
  let policies: [string, string][] = [];
  let declared: string[] = [];
  let rules = new Map<string, string[]>();
  let sharedJumps: { chain: string; rule: string }[] = [];
  let shared = new Set<string>();
  let runtime = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const place = { file, line: i + 1 };
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('*')) {
      table = line.slice(1);
      policies = [];
      declared = [];
      rules = new Map();
      sharedJumps = [];
      shared = new Set();
      runtime = new Set();
      return;
    }
    if (table === undefined) return;
    const t = table;
    if (line === 'COMMIT') {
      const chains = new Map<string, string[]>();
      const hooks: Hook[] = [];
      for (const chain of [...(BUILTIN_CHAINS[t] ?? []), ...(SHARED_CHAINS[t] ?? [])]) {
        const own = rules.get(chain);
        if (!own || own.length === 0) continue;
        const wrapper = wrapperName(chain);
        hooks.push({ chain, wrapper });
        chains.set(wrapper, own);
      }
      // Rules as read (after `-A CHAIN`): withPieces writes each one out once, in its chain or piece.
      for (const chain of declared) chains.set(chain, rules.get(chain) ?? []);
      const layout = { table: t, policies, hooks, sharedJumps, shared: [...shared].sort(), runtime: [...runtime].sort(), chains: withPieces(chains) };
      tables.push({ ...layout, digest: digestOf(layout) });
      table = undefined;
      return;
    }
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      if (isBuiltin(t, name!)) policies.push([name!, policy!]);
      else if (isShared(t, name!)) shared.add(name!);
      else if (isRuntime(name!)) runtime.add(name!);
      else if (name!.startsWith(OWNED_PREFIX)) {
        throw new GatehouseError(`chain ${name} is named like the chains Gatehouse makes itself`, { place, hint: `rename it: names starting with ${OWNED_PREFIX} are reserved` });
      } else declared.push(name!);
      return;
    }
    const rule = splitRule(line);
    if (!rule) {
      throw new GatehouseError(`'${line.slice(0, 40)}' is not an append (-A)`, { place, hint: 'a plan’s ruleset declares chains and appends rules; Gatehouse works out the rest' });
    }
    const [chain, rest] = rule;
    if (isBuiltin(t, chain)) {
      const target = jumpTarget(rest);
      if (target !== undefined && rest === `-j ${target}` && isShared(t, target)) {
        shared.add(target);
        sharedJumps.push({ chain, rule: rest });
        return;
      }
      if (sharedJumps.some((j) => j.chain === chain)) {
        throw new GatehouseError(`${chain} holds both a jump to a shared chain and rules of its own`, { place, hint: 'put the rules in the shared chain' });
      }
    } else if (isRuntime(chain)) {
      throw new GatehouseError(`rule for run-time chain ${chain}`, { place, hint: `chains named ${RUNTIME_CHAIN_PREFIX}... are filled at run time; a plan only declares them and jumps to them` });
    } else if (!isShared(t, chain) && !declared.includes(chain)) {
      throw new GatehouseError(`rule for chain ${chain}, which the table does not declare`, { place, hint: `declare it first: :${chain} - [0:0]` });
    }
    const list = rules.get(chain) ?? [];
    list.push(rest);
    rules.set(chain, list);
  });
  return { tables: tables.sort((a, b) => TABLE_ORDER.indexOf(a.table) - TABLE_ORDER.indexOf(b.table)) };
}

/** What a kernel save shows of one table: its chains (with policies) and every chain's rules. */
export interface KernelTable {
  policies: Map<string, string>;
  chains: Set<string>;
  rules: Map<string, string[]>;
}

/** `iptables-save` text -> table -> what it holds (rule text after `-A CHAIN`, counters dropped). */
export function parseSave(text: string): Map<string, KernelTable> {
  const out = new Map<string, KernelTable>();
  let current: KernelTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = { policies: new Map(), chains: new Set(), rules: new Map() };
      out.set(line.slice(1), current);
    } else if (line === 'COMMIT') current = undefined;
    else if (current && line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      current.chains.add(name!);
      if (policy !== '-') current.policies.set(name!, policy!);
    } else if (current) {
      const rule = splitRule(line);
      if (!rule) continue;
      const list = current.rules.get(rule[0]) ?? [];
      list.push(rule[1]);
      current.rules.set(rule[0], list);
    }
  }
  return out;
}

/** Gatehouse's chains in a table: the layouts' chains and every chain named gatehouse-. */
function ownerOf(table: string, layouts: readonly Layout[]): (chain: string) => boolean {
  const names = new Set<string>();
  for (const l of layouts) for (const t of l.tables) if (t.table === table) for (const c of t.chains.keys()) names.add(c);
  return (chain) => chain.startsWith(OWNED_PREFIX) || names.has(chain);
}

function tableNames(layouts: readonly Layout[], kernel?: Map<string, KernelTable>): string[] {
  const names = new Set<string>();
  for (const l of layouts) for (const t of l.tables) names.add(t.table);
  for (const [name, k] of kernel ?? []) if ([...k.chains].some((c) => c.startsWith(OWNED_PREFIX))) names.add(name);
  return [...names].sort((a, b) => TABLE_ORDER.indexOf(a) - TABLE_ORDER.indexOf(b));
}

/**
 * The restore script that puts `layout` in the kernel whatever Gatehouse held there before:
 * every chain of Gatehouse's rewritten, those no longer wanted removed, the hooks put first,
 * other tools' chains and rules left as they are. `kernel` is a save read just before;
 * `others` are layouts whose chains are also Gatehouse's (the plan before, a stopped ruleset).
 */
export function fullScript(layout: Layout, kernel: Map<string, KernelTable>, others: readonly Layout[] = []): string {
  const out: string[] = [];
  // Chains of Gatehouse's plans but none named gatehouse- in any table (no state chain, no hook targets):
  // loaded by a Gatehouse that restored whole tables, whose rules sit right in the built-in chains. Those
  // tables were all Gatehouse's: their built-in chains are emptied. (After a reboot nothing is there at all.)
  const all = [...kernel].flatMap(([t, k]) => [...k.chains].map((c) => ({ t, c })));
  const legacy = !all.some(({ c }) => c.startsWith(OWNED_PREFIX)) && all.some(({ t, c }) => !isBuiltin(t, c) && ownerOf(t, [layout, ...others])(c));
  for (const name of tableNames([layout], kernel)) {
    const want = layout.tables.find((t) => t.table === name);
    const have = kernel.get(name) ?? { policies: new Map(), chains: new Set<string>(), rules: new Map() };
    const owned = ownerOf(name, [layout, ...others]);
    const existing = [...have.chains].filter((c) => owned(c) && !isBuiltin(name, c) && !isShared(name, c));
    const keep = new Set(want ? [...want.chains.keys(), stateChain(want.digest)] : []);
    const gone = existing.filter((c) => !keep.has(c));
    out.push(`*${name}`);
    for (const chain of [...(want?.shared ?? []), ...(want?.runtime ?? [])]) if (!have.chains.has(chain)) out.push(`:${chain} - [0:0]`);
    for (const chain of keep) out.push(`:${chain} - [0:0]`);
    for (const chain of gone) out.push(`:${chain} - [0:0]`);
    for (const [chain, policy] of want?.policies ?? []) out.push(`:${chain} ${policy} [0:0]`);
    if (legacy) for (const chain of BUILTIN_CHAINS[name] ?? []) if ((have.rules.get(chain) ?? []).length > 0) out.push(`-F ${chain}`);
    // Every jump to a chain of Gatehouse's from a built-in or shared chain goes; the hooks come back first.
    for (const chain of [...(BUILTIN_CHAINS[name] ?? []), ...(SHARED_CHAINS[name] ?? [])]) {
      if (legacy && isBuiltin(name, chain)) continue;
      for (const rest of have.rules.get(chain) ?? []) {
        const target = jumpTarget(rest);
        if (target !== undefined && owned(target) && !isShared(name, target)) out.push(`-D ${chain} ${rest}`);
      }
    }
    if (want) {
      // Rule by rule: a spread passes every rule as an argument, which overflows the stack past ~120,000.
      for (const rules of want.chains.values()) for (const rule of rules) out.push(rule);
      // A shared jump the other tool already made is moved first (one deleted, one inserted), not doubled.
      for (const j of want.sharedJumps) {
        if (!legacy && (have.rules.get(j.chain) ?? []).includes(j.rule)) out.push(`-D ${j.chain} ${j.rule}`);
        out.push(`-I ${j.chain} 1 ${j.rule}`);
      }
      for (const h of want.hooks) out.push(`-I ${h.chain} 1 -j ${h.wrapper}`);
    }
    for (const chain of gone) out.push(`-X ${chain}`);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

function sameRules(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);
}

export interface ChangeScript {
  script: string;
  /** Chains rewritten (created, refilled or removed), all tables. */
  changed: number;
}

/**
 * The restore script from `before`, which the kernel is believed to hold, to `next`: only
 * the chains that differ are rewritten. Each table first deletes `before`'s state chain, so
 * a kernel holding anything else fails the restore with nothing committed in that table (the
 * caller then falls back to fullScript). Undefined when the change needs a look at the
 * kernel (shared chains or tables come or go).
 */
export function changeScript(before: Layout, next: Layout): ChangeScript | undefined {
  const names = tableNames([before, next]);
  const out: string[] = [];
  let changed = 0;
  for (const name of names) {
    const b = before.tables.find((t) => t.table === name);
    const n = next.tables.find((t) => t.table === name);
    if (!b || !n) return undefined;
    if (JSON.stringify([b.shared, b.sharedJumps, b.runtime]) !== JSON.stringify([n.shared, n.sharedJumps, n.runtime])) return undefined;
    out.push(`*${name}`, `-X ${stateChain(b.digest)}`, `:${stateChain(n.digest)} - [0:0]`);
    for (const [chain, policy] of n.policies) out.push(`:${chain} ${policy} [0:0]`);
    if (b.digest === n.digest) {
      out.push('COMMIT');
      continue;
    }
    const rewrite = [...n.chains.keys()].filter((c) => !sameRules(b.chains.get(c), n.chains.get(c)));
    const gone = [...b.chains.keys()].filter((c) => !n.chains.has(c));
    changed += rewrite.length + gone.length;
    for (const chain of [...rewrite, ...gone]) out.push(`:${chain} - [0:0]`);
    // Hooks that come or go (rare: a built-in chain gains or loses all its rules) are the only deletes by rule.
    const key = (h: Hook) => `${h.chain} ${h.wrapper}`;
    const had = new Set(b.hooks.map(key));
    const has = new Set(n.hooks.map(key));
    for (const h of b.hooks) if (!has.has(key(h))) out.push(`-D ${h.chain} -j ${h.wrapper}`);
    for (const chain of rewrite) for (const rule of n.chains.get(chain)!) out.push(rule);
    for (const h of n.hooks) if (!had.has(key(h))) out.push(`-I ${h.chain} 1 -j ${h.wrapper}`);
    for (const chain of gone) out.push(`-X ${chain}`);
    out.push('COMMIT');
  }
  return { script: out.join('\n') + '\n', changed };
}

/**
 * Gatehouse's jumps put first again in their built-in (or shared) chains, where another
 * tool may have inserted rules above them (dockerd does when it restarts). The jumps to a
 * shared chain too (`-A FORWARD -j DOCKER-USER` with the Docker integration): Gatehouse's
 * forward filtering lives behind it, so a rule above it would decide before Gatehouse.
 * They go back below the hooks, as fullScript puts them. A separate restore: with no chain
 * rewritten, iptables-nft reads only those chains. It fails when a jump is missing, which
 * means the kernel is not as the plan left it. Undefined when the layout has neither.
 */
export function hookScript(layout: Layout): string | undefined {
  const out: string[] = [];
  for (const t of layout.tables) {
    if (t.hooks.length === 0 && t.sharedJumps.length === 0) continue;
    out.push(`*${t.table}`);
    for (const j of t.sharedJumps) out.push(`-D ${j.chain} ${j.rule}`, `-I ${j.chain} 1 ${j.rule}`);
    for (const h of t.hooks) out.push(`-D ${h.chain} -j ${h.wrapper}`, `-I ${h.chain} 1 -j ${h.wrapper}`);
    out.push('COMMIT');
  }
  return out.length === 0 ? undefined : out.join('\n') + '\n';
}

/**
 * What the kernel holds of Gatehouse's for `layout`, as comparable lines: the policies, the
 * hooks and shared jumps (with the other tools' rules that come before a hook), and every
 * chain of Gatehouse's, whole. Other tools' chains and rules after the hooks are not in it:
 * they are not drift.
 */
export function ownedView(save: string, layout: Layout): string {
  const kernel = parseSave(save);
  const out: string[] = [];
  for (const name of tableNames([layout], kernel)) {
    const want = layout.tables.find((t) => t.table === name);
    const have = kernel.get(name);
    const owned = ownerOf(name, [layout]);
    out.push(`*${name}`);
    if (!have) {
      out.push('(table missing)');
      continue;
    }
    for (const [chain] of want?.policies ?? []) out.push(`:${chain} ${have.policies.get(chain) ?? '(missing)'}`);
    for (const chain of want?.shared ?? []) out.push(`:${chain} ${have.chains.has(chain) ? '(shared)' : '(shared, missing)'}`);
    // Run-time chains' rules change between applies: only their presence is the plan's.
    for (const chain of want?.runtime ?? []) out.push(`:${chain} ${have.chains.has(chain) ? '(run-time)' : '(run-time, missing)'}`);
    for (const chain of [...(BUILTIN_CHAINS[name] ?? []), ...(SHARED_CHAINS[name] ?? [])]) {
      const rules = have.rules.get(chain) ?? [];
      const ours = (rest: string) => {
        const target = jumpTarget(rest);
        return target !== undefined && ((owned(target) && !isShared(name, target)) || (want?.sharedJumps.some((j) => j.chain === chain && j.rule === rest) ?? false));
      };
      const first = rules.findIndex(ours);
      if (first > 0) out.push(`${chain}: ${first} rule(s) of other tools before Gatehouse's (first: -A ${chain} ${rules[0]})`);
      for (const rest of rules) if (ours(rest)) out.push(`-A ${chain} ${rest}`);
    }
    const chains = [...(want ? [...want.chains.keys(), stateChain(want.digest)] : [])];
    for (const c of [...have.chains].filter((c) => owned(c) && !chains.includes(c) && !isBuiltin(name, c) && !isShared(name, c)).sort()) chains.push(c);
    for (const chain of chains) {
      if (!have.chains.has(chain)) {
        out.push(`:${chain} (missing)`);
        continue;
      }
      out.push(`:${chain}`);
      for (const rest of have.rules.get(chain) ?? []) out.push(`-A ${chain} ${rest}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Chains of a layout, all tables (for counting and tests). */
export function layoutChains(layout: Layout): string[] {
  return layout.tables.flatMap((t) => [...t.chains.keys()].map((c) => `${t.table}:${c}`));
}
