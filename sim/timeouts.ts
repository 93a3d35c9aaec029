/**
 * The server-side clocks a test wants to compress: the Watcher's sent / heartbeat / holding
 * timeouts (reference §2.5: 30 min, 2 h, 48 h), the delay before the Adder finalises a job, and how
 * often the watchdog looks.
 */
import { ValidationError } from '../shared/errors.js';

export interface SimTimeouts {
  sentTimeoutMs: number;
  heartbeatTimeoutMs: number;
  holdingTimeoutMs: number;
  adderDelayMs: number;
  watchdogIntervalMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<SimTimeouts> = {
  sentTimeoutMs: 30 * 60_000,
  heartbeatTimeoutMs: 2 * 3_600_000,
  holdingTimeoutMs: 48 * 3_600_000,
  adderDelayMs: 1000,
  watchdogIntervalMs: 1000,
};

const KEYS = Object.keys(DEFAULT_TIMEOUTS) as (keyof SimTimeouts)[];
// A setTimeout delay above 2^31-1 ms fires at once; the watchdog interval must not spin.
const MAX_MS = 2 ** 31 - 1;

/** Merges a partial update into `base`, naming every bad value at once. */
export function mergeTimeouts(
  base: SimTimeouts,
  patch: Partial<Record<string, unknown>>,
): SimTimeouts {
  const problems: string[] = [];
  const next = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (!KEYS.includes(key as keyof SimTimeouts)) {
      problems.push(`unknown timeout "${key}" (known: ${KEYS.join(', ')})`);
      continue;
    }
    const min = key === 'watchdogIntervalMs' ? 1 : 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_MS) {
      problems.push(
        `${key} must be an integer number of ms from ${min} to ${MAX_MS}, got ${JSON.stringify(value)}`,
      );
      continue;
    }
    next[key as keyof SimTimeouts] = value;
  }
  if (problems.length > 0) throw new ValidationError(problems.join('; '));
  return next;
}
