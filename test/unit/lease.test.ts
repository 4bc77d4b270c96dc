import { describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { decide, leaseIdentity, leaseNamespace, mustStepDown, observe, type LeaseRecord, type Observation } from '../../server/cluster/lease.ts';

/**
 * The election's decisions (server/cluster/lease.ts) with an injected clock: a candidate judges
 * expiry by how long it has itself seen the same record, never by the holder's clock.
 */

const record = (holder: string, resourceVersion: string, durationSeconds = 15): LeaseRecord => ({ holder, durationSeconds, transitions: 0, acquireTime: undefined, resourceVersion });

describe('leader election decisions', () => {
  it('creates a Lease that does not exist, and renews its own', () => {
    expect(decide(undefined, undefined, 'me', 0)).toEqual({ action: 'create' });
    expect(decide(record('me', '7'), { resourceVersion: '7', atMs: 0 }, 'me', 60_000)).toEqual({ action: 'renew' });
  });

  it('takes a released Lease (no holder) at once', () => {
    expect(decide(record('', '9', 1), undefined, 'me', 1000)).toEqual({ action: 'take-over', from: '' });
  });

  it("waits while another holder's record changes, and takes over once it has stood still for the lease duration", () => {
    let seen: Observation | undefined;
    let now = 1_000_000;
    // A holder renewing every 5 s: each new resourceVersion restarts our wait.
    for (const version of ['1', '2', '3']) {
      seen = observe(seen, record('other', version), now);
      expect(decide(record('other', version), seen, 'me', now)).toEqual({ action: 'wait', holder: 'other', expiresAtMs: now + 15_000 });
      now += 5_000;
    }
    // It stops renewing: the same record, seen since 1_010_000.
    const stale = record('other', '3');
    seen = observe(seen, stale, now);
    expect(seen.atMs).toBe(1_010_000);
    expect(decide(stale, seen, 'me', 1_024_999).action).toBe('wait');
    expect(decide(stale, seen, 'me', 1_025_000)).toEqual({ action: 'take-over', from: 'other' });
  });

  it('counts a record first seen now as fresh, whatever its own timestamps say (clocks need not agree)', () => {
    const lease = record('other', '42');
    expect(decide(lease, undefined, 'me', 5_000)).toEqual({ action: 'wait', holder: 'other', expiresAtMs: 20_000 });
    // An observation of another record does not count for this one.
    expect(decide(lease, { resourceVersion: '41', atMs: 0 }, 'me', 5_000).action).toBe('wait');
  });

  it("uses the holder's lease duration", () => {
    const short = record('other', '5', 2);
    const seen = observe(undefined, short, 0);
    expect(decide(short, seen, 'me', 1_999).action).toBe('wait');
    expect(decide(short, seen, 'me', 2_000).action).toBe('take-over');
  });

  it('steps a leader down once it has not renewed for the renew deadline, before anyone may take over', () => {
    expect(mustStepDown(0, 9_999, 10_000)).toBe(false);
    expect(mustStepDown(0, 10_000, 10_000)).toBe(true);
  });

  it('names this replica by host with a random suffix, and finds the namespace in the context', () => {
    expect(leaseIdentity('kubedojo-7c9f-abcde')).toMatch(/^kubedojo-7c9f-abcde-[0-9a-f]{8}$/);
    expect(leaseIdentity('h')).not.toBe(leaseIdentity('h'));
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://x' }], users: [{ name: 'u' }], contexts: [{ name: 'a', cluster: 'c', user: 'u', namespace: 'kubedojo' }, { name: 'b', cluster: 'c', user: 'u' }], currentContext: 'a' });
    expect(leaseNamespace(kc)).toBe('kubedojo');
    kc.setCurrentContext('b');
    expect(leaseNamespace(kc)).toBe('kube-system');
  });
});
