/**
 * Identifiers that become NATS subjects, file names or permissions (endpoint ids, queue names,
 * subject prefixes) must match ID_PATTERN. They are checked where they enter the system, so a
 * hostile "a.>" or "../x" never reaches a subject or a path (DESIGN.md, Identities).
 */

import { ValidationError } from './errors.js';
import type { JobKey } from './gen/pgc/v1/common.js';

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Returns `value` if it is a valid id, else throws a ValidationError naming `what`. */
export function validateId(what: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new ValidationError(`${what} must be a string, got ${typeof value}`);
  }
  if (!ID_PATTERN.test(value)) {
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    throw new ValidationError(
      `${what} ${JSON.stringify(shown)} is not a valid id: use 1 to 64 letters, digits, '_' or '-'`,
    );
  }
  return value;
}

/** Checks a PanDA job id: a positive safe integer. */
export function validatePandaId(value: unknown): number {
  const n = typeof value === 'string' && /^[0-9]{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) {
    throw new ValidationError(`PanDA job id ${JSON.stringify(value)} is not a positive integer`);
  }
  return n;
}

/** Checks a job attempt key read from a peer. */
export function validateJobKey(key: JobKey | undefined): JobKey {
  if (key === undefined) throw new ValidationError('job key is missing');
  validatePandaId(key.pandaId);
  if (!Number.isInteger(key.attemptNr) || key.attemptNr < 0) {
    throw new ValidationError(
      `attempt number ${key.attemptNr} of job ${key.pandaId} is not a non-negative integer`,
    );
  }
  return key;
}

/**
 * A job attempt as one string, for storage keys and dedup ids. Zero-padded so that LevelDB's
 * byte order equals numeric order (range scans by job id).
 */
export function attemptId(key: JobKey): string {
  return `${String(key.pandaId).padStart(16, '0')}.${String(key.attemptNr).padStart(4, '0')}`;
}
