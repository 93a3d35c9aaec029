import { describe, expect, it } from 'vitest';
import { leaseExpired, rebaseDisconnectedAt } from '../../../control/lease.js';

const MIN = 60_000;

describe('endpoint leases', () => {
  it('expires once an endpoint has been disconnected for the lease', () => {
    expect(leaseExpired(undefined, 10 * MIN, MIN)).toBe(false); // connected
    expect(leaseExpired(0, MIN - 1, MIN)).toBe(false);
    expect(leaseExpired(0, MIN, MIN)).toBe(true);
  });

  it('keeps the time an endpoint was already away before a restart', () => {
    // Away 9 min before the control plane stopped; it comes back 30 min later.
    const start = 100 * MIN;
    const at = rebaseDisconnectedAt(
      { endpointId: 'e', epoch: 3, disconnectedAtMs: 61 * MIN },
      70 * MIN,
      start,
    );
    expect(start - at).toBe(9 * MIN);
    expect(leaseExpired(at, start + MIN, 10 * MIN)).toBe(true);
    expect(leaseExpired(at, start + MIN - 1, 10 * MIN)).toBe(false);
  });

  it('does not count the control plane’s own downtime: a connected endpoint gets a full lease', () => {
    const start = 100 * MIN;
    const at = rebaseDisconnectedAt({ endpointId: 'e', epoch: 3 }, 85 * MIN, start);
    expect(at).toBe(start);
  });

  it('copes with a missing or future clock', () => {
    // No clock on disk: the control plane is taken to have run until now.
    expect(
      rebaseDisconnectedAt({ endpointId: 'e', epoch: 1, disconnectedAtMs: 5 }, undefined, 10),
    ).toBe(5);
    expect(rebaseDisconnectedAt({ endpointId: 'e', epoch: 1 }, 50, 10)).toBe(10);
  });
});
