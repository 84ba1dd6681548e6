import { describe, expect, it } from 'vitest';
import { addressKey, SignInThrottle, type SignInLimits } from './sign-in-throttle.js';

const LIMITS: SignInLimits = { perAddressAndIdentity: 3, perAddress: 5, global: 8, windowMs: 1000 };
const at = (clientAddr: string, identity: string) => ({ clientAddr, identity });

function failTimes(throttle: SignInThrottle, clientAddr: string, identity: string, times: number, now = 0): void {
  for (let i = 0; i < times; i++) throttle.failed(at(clientAddr, identity), now);
}

describe('SignInThrottle', () => {
  it('limits an address for one name without locking that name out of other addresses', () => {
    const throttle = new SignInThrottle(LIMITS);
    failTimes(throttle, '10.0.0.66', 'bob', 3);
    expect(throttle.check(at('10.0.0.66', 'bob'), 10).waitMs).toBe(990);
    expect(throttle.check(at('10.0.0.66', 'BOB'), 10).waitMs).toBe(990); // names compare without case
    expect(throttle.check(at('10.0.0.7', 'bob'), 10).waitMs).toBe(0); // bob, from his own machine
    expect(throttle.check(at('10.0.0.66', 'carol'), 10).waitMs).toBe(0);
    expect(throttle.check(at('10.0.0.66', 'bob'), 1000).waitMs).toBe(0); // the window passed
  });

  it('limits how many names one address can try', () => {
    const throttle = new SignInThrottle(LIMITS);
    ['a', 'b', 'c', 'd', 'e'].forEach((name) => throttle.failed(at('10.0.0.66', name), 0));
    expect(throttle.check(at('10.0.0.66', 'f'), 1).waitMs).toBe(999);
    expect(throttle.check(at('10.0.0.7', 'f'), 1).waitMs).toBe(0);
  });

  it('past the global ceiling, refuses addresses that failed and still admits those that did not', () => {
    const throttle = new SignInThrottle(LIMITS);
    for (let i = 1; i <= 8; i++) throttle.failed(at(`10.0.1.${i}`, 'alice'), i * 10);
    // Each of those addresses failed once only: under its own limits, but the ceiling is reached.
    expect(throttle.check(at('10.0.1.1', 'alice'), 100).waitMs).toBe(910); // its failure ages out at 1010
    expect(throttle.check(at('10.0.1.8', 'alice'), 100).waitMs).toBe(910); // the ceiling clears at 1010 first
    expect(throttle.check(at('10.0.2.1', 'alice'), 100).waitMs).toBe(0); // never failed
    expect(throttle.check(at('10.0.1.8', 'alice'), 1010).waitMs).toBe(0); // the ceiling cleared
  });

  it('says which refusal is the first from an address in the window', () => {
    const throttle = new SignInThrottle(LIMITS);
    failTimes(throttle, '10.0.0.66', 'bob', 3);
    expect(throttle.check(at('10.0.0.66', 'bob'), 1)).toEqual({ waitMs: 999, firstRefusal: true });
    expect(throttle.check(at('10.0.0.66', 'bob'), 2)).toEqual({ waitMs: 998, firstRefusal: false });
    failTimes(throttle, '10.0.0.66', 'bob', 3, 1000);
    expect(throttle.check(at('10.0.0.66', 'bob'), 1001).firstRefusal).toBe(true);
  });

  it('clears a pair on success, not the address', () => {
    const throttle = new SignInThrottle(LIMITS);
    failTimes(throttle, '10.0.0.66', 'bob', 2);
    throttle.succeeded(at('10.0.0.66', 'bob'));
    failTimes(throttle, '10.0.0.66', 'bob', 2);
    expect(throttle.check(at('10.0.0.66', 'bob'), 1).waitMs).toBe(0); // 2 since the success, limit 3
    throttle.failed(at('10.0.0.66', 'dave'), 0);
    expect(throttle.check(at('10.0.0.66', 'erin'), 1).waitMs).toBe(999); // the address has its 5
  });
});

describe('addressKey', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:ffff::2', '2001:db8:0:0::/64'],
    ['2001:0db8:0000:0001::1', '2001:db8:0:1::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::ffff:1.2.3.4:5', '::ffff:1.2.3.4:5'], // not an address: counted as given
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
