import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../../shared/backoff.js';

const policy = { initialMs: 1000, maxMs: 10_000, multiplier: 2, jitter: 0.2 };

describe('backoffDelayMs', () => {
  it('grows by the multiplier and stops at the cap', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelayMs(n, policy, mid))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });

  it('stays within the jitter band', () => {
    expect(backoffDelayMs(0, policy, () => 0)).toBe(800);
    expect(backoffDelayMs(0, policy, () => 0.999999)).toBe(1200);
    expect(backoffDelayMs(10, policy, () => 0.999999)).toBe(12_000);
  });
});
