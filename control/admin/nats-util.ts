/** Small helpers the Admin readers of NATS share. */
import { describeError, UnavailableError } from '../../shared/errors.js';

/** NATS failed under an admin call: UNAVAILABLE, saying what was being done. */
export function natsUnavailable(what: string, err: unknown): UnavailableError {
  return new UnavailableError(`${what} failed: NATS: ${describeError(err)}`);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
