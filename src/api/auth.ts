/**
 * Passwords and failed logins. Passwords are stored as scrypt hashes (node:crypto) in the
 * `apiusers` database: `scrypt$N$r$p$<salt base64>$<hash base64>`; checking takes the
 * same time whether or not the user exists. Failed logins are counted per client
 * address: past the limit within the window, the client is refused with 429 until the
 * window has passed, and every failure is logged.
 */
import { hash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

const COST = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...COST, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const HASH = /^scrypt\$(\d{1,7})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]{4,})\$([A-Za-z0-9+/=]{4,})$/;

export function isPasswordHash(text: string): boolean {
  const m = HASH.exec(text);
  if (!m) return false;
  const n = Number(m[1]);
  return n >= 1024 && (n & (n - 1)) === 0 && Number(m[2]) >= 1 && Number(m[3]) >= 1;
}

/** A hash of a random password, checked when the user is unknown so timing says nothing. */
let decoy: Promise<string> | undefined;

export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const hash = stored !== undefined && isPasswordHash(stored) ? stored : await (decoy ??= hashPassword(randomBytes(16).toString('hex')));
  const m = HASH.exec(hash)!;
  const expected = Buffer.from(m[5]!, 'base64');
  const key = await scrypt(password, Buffer.from(m[4]!, 'base64'), expected.length, {
    N: Number(m[1]),
    r: Number(m[2]),
    p: Number(m[3]),
    maxmem: 256 * 1024 * 1024,
  });
  return timingSafeEqual(key, expected) && hash === stored;
}

/**
 * Logins already checked, so that a client sending many requests pays scrypt once, not
 * per request (basic authentication sends the password every time). Kept in memory
 * only, keyed by a SHA-256 of a secret made at start, user and password (never the
 * password itself), and valid only while the user's stored hash is unchanged and for
 * `ttlSeconds`. The one-shot hash costs about a microsecond; an HMAC object per request
 * cost several times that in a burst of logins.
 */
export class VerifiedLogins {
  private readonly secret = randomBytes(32).toString('base64');
  private readonly verified = new Map<string, { hash: string; until: number }>();
  /** Checks under way: concurrent requests with the same login share one scrypt. */
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(
    private readonly ttlSeconds = 300,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private id(user: string, password: string): string {
    // The secret has a fixed length and the user's length goes first: no two logins share an input.
    return hash('sha256', `${this.secret}${user.length}:${user}${password}`, 'base64');
  }

  /** Whether this login was verified against `stored` (the user's hash now) within the time: no scrypt, no promise. */
  known(user: string, password: string, stored: string | undefined): boolean {
    if (stored === undefined || this.verified.size === 0) return false;
    const known = this.verified.get(this.id(user, password));
    return known !== undefined && known.hash === stored && known.until > this.now();
  }

  async check(user: string, password: string, stored: string | undefined): Promise<boolean> {
    const id = this.id(user, password);
    const known = this.verified.get(id);
    if (known && stored !== undefined && known.hash === stored && known.until > this.now()) return true;
    this.verified.delete(id);
    const key = `${id}\0${stored ?? ''}`;
    let check = this.pending.get(key);
    if (!check) {
      check = verifyPassword(password, stored).finally(() => this.pending.delete(key));
      this.pending.set(key, check);
    }
    const ok = await check;
    if (ok && stored !== undefined) {
      if (this.verified.size >= 10_000) this.verified.clear();
      this.verified.set(id, { hash: stored, until: this.now() + this.ttlSeconds * 1000 });
    }
    return ok;
  }
}

/** Failed logins per client address within a sliding window. */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowSeconds: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Seconds until the client may try again; 0 when it may now. */
  blockedFor(client: string): number {
    if (!this.failures.has(client)) return 0;
    const times = this.recent(client);
    if (times.length < this.limit) return 0;
    return Math.max(1, Math.ceil((times[0]! + this.windowSeconds * 1000 - this.now()) / 1000));
  }

  fail(client: string): number {
    const times = this.recent(client);
    times.push(this.now());
    this.failures.set(client, times);
    return times.length;
  }

  private recent(client: string): number[] {
    const since = this.now() - this.windowSeconds * 1000;
    const times = (this.failures.get(client) ?? []).filter((t) => t > since);
    if (times.length === 0) this.failures.delete(client);
    else this.failures.set(client, times);
    return times;
  }
}
