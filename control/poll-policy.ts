/**
 * When a queue's poller asks PanDA again, and for how many jobs. Pure.
 * - jobs came, or there was no capacity: again after `pollIntervalMs` (1 s), or as soon as
 *   capacity frees up (the poller's wake-up), so short jobs do not leave slots idle;
 * - "No jobs in PanDA": after `idlePollIntervalMs` (10 s);
 * - an error: jittered exponential backoff from `pollIntervalMs`, capped so that a poller
 *   recovers within 10 s of an outage's end (cap 8 s ± 20 %).
 * n_jobs never exceeds the free slots: a job acquired but not dispatchable now would sit in
 * PanDA's `sent` state, which PanDA fails after 30 minutes (reference §2.5).
 */
import { backoffDelayMs } from '../shared/backoff.js';

export type PollOutcome = 'jobs' | 'no-jobs' | 'error' | 'no-capacity';

export interface PollTiming {
  pollIntervalMs: number;
  idlePollIntervalMs: number;
  errorBackoffMaxMs: number;
}

export const ERROR_JITTER = 0.2;

/** Delay before the next acquire_jobs; `consecutiveErrors` counts this error too. */
export function nextPollDelayMs(
  outcome: PollOutcome,
  consecutiveErrors: number,
  timing: PollTiming,
  random: () => number = Math.random,
): number {
  switch (outcome) {
    case 'jobs':
    case 'no-capacity':
      return timing.pollIntervalMs;
    case 'no-jobs':
      return timing.idlePollIntervalMs;
    case 'error':
      return backoffDelayMs(
        Math.max(0, consecutiveErrors - 1),
        {
          initialMs: Math.min(timing.pollIntervalMs, timing.errorBackoffMaxMs),
          maxMs: timing.errorBackoffMaxMs,
          multiplier: 2,
          jitter: ERROR_JITTER,
        },
        random,
      );
  }
}

/** n_jobs for acquire_jobs: what fits in the free slots (a job takes at least one), capped. */
export function jobsToRequest(freeSlots: number, maxPerAcquire: number): number {
  return Math.max(0, Math.min(Math.floor(freeSlots), maxPerAcquire));
}
