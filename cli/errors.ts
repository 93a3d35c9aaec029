/** Errors that only the CLI raises. */

/** The command line is wrong: a missing argument, a bad value, conflicting flags. */
export class UsageError extends Error {
  override name = 'UsageError';
}
