/**
 * The reporter's decisions, pure so they are tested alone: which outbox entries go in the next
 * update_jobs_bulk call, what a per-job reply means, and how long to wait after a failure.
 * An update is sent at once when no call is in flight; entries that arrive during a call wait for
 * it and go together (at most `maxBatchJobs`, Harvester's nJobsInBulk is 100).
 */
import { type BackoffPolicy, backoffDelayMs } from '../shared/backoff.js';
import type { PgcError } from '../shared/errors.js';
import type { OutboxEntry } from './outbox.js';
import type { UpdateReply } from './panda/wire-types.js';

export interface ReportPolicy {
  maxBatchJobs: number;
  /** Backoff after a failed call (whole call) or a retryable per-job error. */
  retry: BackoffPolicy;
}

export function reportPolicy(maxBatchJobs: number, retryMaxMs: number): ReportPolicy {
  return {
    maxBatchJobs,
    retry: { initialMs: 500, maxMs: retryMaxMs, multiplier: 2, jitter: 0.2 },
  };
}

/** Entries ready at `now`, oldest first, at most `max`. */
export function pickBatch(entries: Iterable<OutboxEntry>, now: number, max: number): OutboxEntry[] {
  return [...entries]
    .filter((e) => e.notBeforeMs <= now)
    .sort((a, b) => a.enqueuedAtMs - b.enqueuedAtMs || (a.id < b.id ? -1 : 1))
    .slice(0, max);
}

/** The earliest time an entry that is not ready now becomes ready; undefined if none waits. */
export function nextReadyAt(entries: Iterable<OutboxEntry>, now: number): number | undefined {
  let next: number | undefined;
  for (const e of entries) {
    if (e.notBeforeMs > now && (next === undefined || e.notBeforeMs < next)) next = e.notBeforeMs;
  }
  return next;
}

export type Verdict =
  /** PanDA has it. `kill`: the reply carried tobekilled for a job that is still going. */
  | { type: 'delivered'; kill: boolean; command: string | null }
  /** A transient refusal (database timeout): send again after `delayMs`. */
  | { type: 'retry'; delayMs: number }
  /** PanDA will never take it (argument or type error): drop it, say so loudly. */
  | { type: 'refused'; message: string };

/**
 * One job's reply. `alreadydone` and, for a final update, `tobekilled` (the job is archived or
 * has another attempt) mean nothing more can be told: delivered.
 */
export function judgeReply(
  entry: OutboxEntry,
  reply: UpdateReply | PgcError,
  policy: ReportPolicy,
  random: () => number = Math.random,
): Verdict {
  if (reply instanceof Error) {
    if (reply.retryable)
      return { type: 'retry', delayMs: backoffDelayMs(entry.attempts, policy.retry, random) };
    return { type: 'refused', message: reply.message };
  }
  const command = reply.command;
  const kill = !entry.final && command !== null && command.split(',').includes('tobekilled');
  return { type: 'delivered', kill, command };
}

/** Wait after the n-th failed call in a row (n ≥ 1). */
export function callFailureDelayMs(
  failures: number,
  policy: ReportPolicy,
  random: () => number = Math.random,
): number {
  return backoffDelayMs(Math.max(0, failures - 1), policy.retry, random);
}
