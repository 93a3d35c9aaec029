/**
 * Deadlines and bounded retries for calls to NATS: a request made while the connection is down
 * can lose its reply after the reconnect (shared/nats/connect.ts), so JetStream API calls get a
 * deadline and are tried again.
 */
import { backoffDelayMs } from '../shared/backoff.js';
import { describeError, TimeoutError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Tries `fn` up to `attempts` times with backoff (0.5 s doubling to 5 s); throws the last error. */
export async function withRetries<T>(
  what: string,
  fn: () => Promise<T>,
  log: Logger,
  attempts = 8,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withDeadline(fn(), 15_000, what);
    } catch (err) {
      if (attempt + 1 >= attempts) throw err;
      const delayMs = backoffDelayMs(attempt, {
        initialMs: 500,
        maxMs: 5000,
        multiplier: 2,
        jitter: 0.2,
      });
      log.warn({ err: describeError(err), delayMs }, `${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
