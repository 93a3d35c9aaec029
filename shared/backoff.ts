/** Exponential backoff with jitter, pure so that callers and tests share one formula. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Fraction of the delay that is randomised, 0..1 (gRPC uses 0.2). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 1000,
  maxMs: 30_000,
  multiplier: 1.6,
  jitter: 0.2,
};

/**
 * Delay before retry number `attempt` (0 = the first retry). `random` returns [0, 1).
 * The result stays within [base·(1−jitter), base·(1+jitter)] where base is capped at maxMs.
 */
export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + 2 * spread * random()));
}
