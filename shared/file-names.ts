/**
 * File names that come from PanDA (LFNs, Rucio scopes, output names) become paths on the agent's
 * disk (`<job>/work/<lfn>`, `<outputsDir>/<scope>/<lfn>`) and words in shell commands. They are
 * data, so only characters safe in both are accepted: no separator, no `..`, no leading dot or
 * dash. LFNs and scopes as Rucio issues them fit. Checked where a name enters a process.
 */
import { ValidationError } from './errors.js';

export const FILE_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._+=:@-]{0,254}$/;

/** Returns `name` when it is a safe single path component, else throws a ValidationError naming `what`. */
export function checkFileName(what: string, name: string): string {
  if (!FILE_NAME_PATTERN.test(name) || name === '.' || name === '..') {
    const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name;
    throw new ValidationError(
      `${what} ${JSON.stringify(shown)} is not a safe file name: use letters, digits and ._+=:@- (no path separators)`,
    );
  }
  return name;
}
