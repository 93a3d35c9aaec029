/** Errors that only the CLI raises; both exit with status 2 (bad usage). */

/** The command line is wrong: a missing argument, a bad value, conflicting flags. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A subcommand whose issue has not landed yet: it says so instead of pretending to work. */
export class NotLandedError extends Error {
  override name = 'NotLandedError';
  constructor(command: string, issue: number, title: string) {
    super(`${command} is not available yet: it lands with issue #${issue} (${title})`);
  }
}
