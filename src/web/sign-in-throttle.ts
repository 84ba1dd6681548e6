import { isIPv6 } from 'node:net';
import { SlidingWindowLimiter } from './rate-limiter.js';

/** Failed sign-ins allowed in `windowMs`. */
export interface SignInLimits {
  /** From one client address for one identity name. */
  perAddressAndIdentity: number;
  /** From one client address, whatever names it tries. */
  perAddress: number;
  /** From all addresses together; past it, every address gets one failure per window. */
  global: number;
  windowMs: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { perAddressAndIdentity: 5, perAddress: 20, global: 500, windowMs: 10 * 60_000 };

export interface SignInAttempt {
  clientAddr: string;
  identity: string;
}

export interface ThrottleVerdict {
  /** Milliseconds until this attempt may be made; 0 lets it through. */
  waitMs: number;
  /** The first refusal of this address in the window: the one worth an audit event. */
  firstRefusal: boolean;
}

/**
 * Sign-in failures are counted per (client address, identity name), never per identity
 * name alone: failures from elsewhere cannot lock an identity out of its own address. The
 * per-address limit bounds how many names one address can try, and the global ceiling
 * bounds guessing from many addresses at once without refusing an address that has not
 * failed. IPv6 addresses count per /64, the block one subscriber usually holds.
 */
export class SignInThrottle {
  private readonly byPair: SlidingWindowLimiter;
  private readonly byAddress: SlidingWindowLimiter;
  private readonly everywhere: SlidingWindowLimiter;
  private readonly refusals: SlidingWindowLimiter;

  constructor(readonly limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS) {
    this.byPair = new SlidingWindowLimiter(limits.perAddressAndIdentity, limits.windowMs);
    this.byAddress = new SlidingWindowLimiter(limits.perAddress, limits.windowMs);
    this.everywhere = new SlidingWindowLimiter(limits.global, limits.windowMs, 1);
    this.refusals = new SlidingWindowLimiter(1, limits.windowMs);
  }

  /** Whether this attempt may be made now; a refusal is remembered (see `firstRefusal`). */
  check(attempt: SignInAttempt, now: number): ThrottleVerdict {
    const address = addressKey(attempt.clientAddr);
    const pair = pairKey(address, attempt.identity);
    // Past the global ceiling an address that already failed waits until its failure ages
    // out or the ceiling clears, whichever comes first.
    const ceiling = Math.min(this.everywhere.retryAfterMs('all', now), this.byAddress.retryAfterMs(address, now, 1));
    const waitMs = Math.max(this.byPair.retryAfterMs(pair, now), this.byAddress.retryAfterMs(address, now), ceiling);
    if (waitMs === 0) return { waitMs, firstRefusal: false };
    const firstRefusal = this.refusals.retryAfterMs(address, now) === 0;
    if (firstRefusal) this.refusals.record(address, now);
    return { waitMs, firstRefusal };
  }

  failed(attempt: SignInAttempt, now: number): void {
    const address = addressKey(attempt.clientAddr);
    this.byPair.record(pairKey(address, attempt.identity), now);
    this.byAddress.record(address, now);
    this.everywhere.record('all', now);
  }

  /** The right token from this address for this name clears that pair, nothing else. */
  succeeded(attempt: SignInAttempt): void {
    this.byPair.reset(pairKey(addressKey(attempt.clientAddr), attempt.identity));
  }
}

function pairKey(address: string, identity: string): string {
  return `${address} ${identity.toLowerCase()}`;
}

/** The unit an address is counted in: an IPv4 address, or the /64 of an IPv6 one. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.replace(/%.*$/, '');
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.split('::');
  const groups = (part: string) => (part ? part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])) : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const full = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${full
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
