import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { addressKey } from '../../server/http/rate-limits.ts';
import { DEFAULT_RATE_LIMITS, trustFunction } from '../../server/limits.ts';

/** The settings that bound one visitor: their grammar, defaults and the messages for bad values. */

const home = { HOME: '/home/learner' };

describe('--rate-limits', () => {
  it('keeps every default and changes only the limits named', () => {
    const result = loadConfig({ rateLimits: 'guests=5/10m, sandboxes=20/1m,checks=3/30s' }, home);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.http.rateLimits).toEqual({ ...DEFAULT_RATE_LIMITS, guests: { points: 5, seconds: 600 }, sandboxes: { points: 20, seconds: 60 }, checks: { points: 3, seconds: 30 } });
    const defaults = loadConfig({}, home);
    expect(defaults.ok && defaults.config.http.rateLimits).toEqual(DEFAULT_RATE_LIMITS);
  });

  it('names the flag and the item that is wrong', () => {
    const result = loadConfig({ rateLimits: 'guests=many,cookies=1/1m,checks=0/1m' }, home);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(3);
    expect(result.problems[0]).toMatch(/^--rate-limits: "guests=many" is not NAME=COUNT\/PERIOD such as sandboxes=10\/1m/);
    expect(result.problems[1]).toContain('"cookies=1/1m" is not NAME=COUNT/PERIOD');
    expect(result.problems[2]).toContain('"checks=0/1m": the count must be at least 1');
  });
});

describe('--trust-proxy', () => {
  const trusted = (value: string, address: string, hop: number) => {
    const result = loadConfig({ trustProxy: value }, home);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    return trustFunction(result.config.http.trustProxy)(address, hop);
  };

  it('trusts loopback by default, a number of hops, listed ranges, or nothing', () => {
    expect(trusted('loopback', '127.0.0.1', 0)).toBe(true);
    expect(trusted('loopback', '10.0.0.5', 0)).toBe(false);
    expect(trusted('2', '203.0.113.1', 1)).toBe(true);
    expect(trusted('2', '203.0.113.1', 2)).toBe(false);
    expect(trusted('10.0.0.0/8, loopback', '10.1.2.3', 0)).toBe(true);
    expect(trusted('none', '127.0.0.1', 0)).toBe(false);
  });

  it('refuses what is neither a count nor addresses', () => {
    const result = loadConfig({ trustProxy: 'my-proxy.example.com' }, home);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatch(/^--trust-proxy: must be a number of proxies, "none", or addresses/);
  });
});

describe('the address a limit counts', () => {
  it('is the IPv4 address itself, unwrapped from IPv6, and the /64 of an IPv6 address', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('2001:db8:0:1::7')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0db8:0000:0001:ffff:1:2:3')).toBe('2001:db8:0:1::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('sandbox and jail settings', () => {
  it('has safe defaults and refuses what is not a domain', () => {
    const result = loadConfig({}, home);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.sandboxes).toMatchObject({ domain: 'sandboxes.localhost', learnerPriorityMax: 1_000_000, maxCrds: 10, maxPriorityClasses: 5, loadBalancers: 0 });
    expect(result.config.terminals).toMatchObject({ recordingMaxBytes: 20 * 1024 * 1024, jail: { pids: 256, memoryBytes: 768 * 1024 * 1024, fileBytes: 512 * 1024 * 1024 } });
    const bad = loadConfig({ sandboxDomain: 'not a domain', jailPids: '3' }, home);
    expect(bad.ok ? [] : bad.problems).toEqual([
      '--sandbox-domain: must be a DNS domain such as labs.example.com, got "not a domain"',
      '--jail-pids: must be at least 16, got "3"',
    ]);
  });
});
