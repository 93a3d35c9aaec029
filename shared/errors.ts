/**
 * The few error classes of panda-gc and the one mapping to and from the wire `Failure`.
 * Every error that crosses a process or network boundary goes through toFailure()/fromFailure(),
 * so a reason survives the trip: an agent's UNSAFE_ARCHIVE arrives at the control plane as
 * UNSAFE_ARCHIVE, never as a bare string.
 */
import { type Failure, FailureCode } from './gen/pgc/v1/common.js';

export { FailureCode };

export interface PgcErrorOptions {
  cause?: unknown;
  /** Overrides the class's default: may the same operation succeed if tried again? */
  retryable?: boolean;
}

/** Base class: a stable `code` and whether retrying can help. */
export class PgcError extends Error {
  override name = 'PgcError';
  readonly code: FailureCode;
  readonly retryable: boolean;

  constructor(code: FailureCode, message: string, options: PgcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
  }
}

/** Bad input from a user, a peer or a file: the message names the offending value. */
export class ValidationError extends PgcError {
  override name = 'ValidationError';
  constructor(message: string, options: PgcErrorOptions = {}) {
    super(FailureCode.INVALID_ARGUMENT, message, options);
  }
}

/** A configuration that cannot be used; `problems` lists every problem found, not just the first. */
export class ConfigError extends PgcError {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options: PgcErrorOptions = {}) {
    const head =
      problems.length === 1 ? 'configuration problem' : `${problems.length} configuration problems`;
    super(FailureCode.CONFIG, `${head}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
    this.problems = problems;
  }
}

/** A peer or server is not reachable or not ready; trying again later may work. */
export class UnavailableError extends PgcError {
  override name = 'UnavailableError';
  constructor(message: string, options: PgcErrorOptions = {}) {
    super(FailureCode.UNAVAILABLE, message, options);
  }
}

/** A deadline passed. */
export class TimeoutError extends PgcError {
  override name = 'TimeoutError';
  constructor(message: string, options: PgcErrorOptions = {}) {
    super(FailureCode.TIMEOUT, message, options);
  }
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<FailureCode> = new Set([
  FailureCode.UNAVAILABLE,
  FailureCode.TIMEOUT,
  FailureCode.NO_SPACE,
  FailureCode.SANDBOX_UNAVAILABLE,
  FailureCode.LOST,
]);

// Node system errors we can classify without guessing.
const ERRNO_CODES: Readonly<Record<string, FailureCode>> = {
  ENOSPC: FailureCode.NO_SPACE,
  EDQUOT: FailureCode.NO_SPACE,
  ETIMEDOUT: FailureCode.TIMEOUT,
  ECONNREFUSED: FailureCode.UNAVAILABLE,
  ECONNRESET: FailureCode.UNAVAILABLE,
  EHOSTUNREACH: FailureCode.UNAVAILABLE,
  ENETUNREACH: FailureCode.UNAVAILABLE,
  EPIPE: FailureCode.UNAVAILABLE,
  EAI_AGAIN: FailureCode.UNAVAILABLE,
  ENOENT: FailureCode.NOT_FOUND,
  EACCES: FailureCode.PERMISSION_DENIED,
  EPERM: FailureCode.PERMISSION_DENIED,
};

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Turns anything thrown into a wire Failure. Unknown errors become INTERNAL with their message. */
export function toFailure(err: unknown): Failure {
  if (err instanceof PgcError) {
    return { code: err.code, message: err.message, retryable: err.retryable };
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: FailureCode.CANCELLED, message: err.message, retryable: false };
  }
  const errno = errnoCode(err);
  const mapped = errno === undefined ? undefined : ERRNO_CODES[errno];
  const message = err instanceof Error ? err.message : String(err);
  if (mapped !== undefined) {
    return { code: mapped, message, retryable: RETRYABLE_BY_DEFAULT.has(mapped) };
  }
  return { code: FailureCode.INTERNAL, message, retryable: false };
}

/** Turns a wire Failure back into an error of the matching class. */
export function fromFailure(failure: Failure): PgcError {
  const options = { retryable: failure.retryable };
  switch (failure.code) {
    case FailureCode.INVALID_ARGUMENT:
      return new ValidationError(failure.message, options);
    case FailureCode.UNAVAILABLE:
      return new UnavailableError(failure.message, options);
    case FailureCode.TIMEOUT:
      return new TimeoutError(failure.message, options);
    case FailureCode.CONFIG:
      return new ConfigError(
        failure.message
          .split('\n')
          .filter((l) => l.startsWith('  - '))
          .map((l) => l.slice(4)),
        options,
      );
    default:
      return new PgcError(failure.code, failure.message, options);
  }
}

/** The one-line form of an error for logs and CLI output, including its causes. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': caused by: ');
}
