/**
 * Waiting in the demo: for a condition with a deadline (never a bare sleep), and always
 * interruptible by Ctrl-C / SIGTERM through one AbortSignal.
 */
import { FailureCode, PgcError } from '../../shared/errors.js';

/** The demo was asked to stop (Ctrl-C or SIGTERM) before it was done. */
export class DemoInterruptedError extends PgcError {
  override name = 'DemoInterruptedError';
  constructor(signal: string) {
    super(FailureCode.CANCELLED, `interrupted by ${signal}: stopped everything`, {
      retryable: false,
    });
  }
}

/** Something in the demo did not happen as expected (exit status 1). */
export class DemoFailedError extends PgcError {
  override name = 'DemoFailedError';
  constructor(
    message: string,
    /** The message already holds the log tails that explain it. */
    readonly explained = false,
  ) {
    super(FailureCode.FAILED_PRECONDITION, message, { retryable: false });
  }
}

function interrupted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DemoInterruptedError('a signal');
}

/** Resolves after `ms`; rejects at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(interrupted(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(interrupted(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
  /** What was awaited, for the failure message: "both agents connected". */
  what: string;
  signal: AbortSignal;
}

/**
 * Calls `check` every `intervalMs` until it returns something other than undefined; throws
 * DemoFailedError at the deadline (with the last error `check` threw, if any).
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  o: PollOptions,
): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (o.signal.aborted) throw interrupted(o.signal);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof DemoFailedError) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new DemoFailedError(`${o.what} did not happen within ${o.timeoutMs / 1000} s${why}`);
    }
    await pause(o.intervalMs, o.signal);
  }
}
