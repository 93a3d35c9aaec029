/**
 * Where the agent's credentials may live: never under its state directory, which holds the
 * sandbox store and the job directories that payloads can reach (run as another user they can
 * traverse into them; run as the agent's user they can read everything the agent can). Such a
 * file is refused at start, with its setting named, rather than left one symlink away from a job.
 */
import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { ConfigError } from '../shared/errors.js';

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Throws a ConfigError naming every credential setting whose file is inside `stateDir`. */
export function checkCredentialPlacement(
  files: Readonly<Record<string, string | undefined>>,
  stateDir: string,
): void {
  const root = real(stateDir) + sep;
  const problems = Object.entries(files)
    .filter(([, path]) => path !== undefined && path !== '' && real(path).startsWith(root))
    .map(
      ([setting, path]) =>
        `${setting}: ${path} is inside the state directory ${stateDir}, where jobs run; keep credentials outside it`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
}
