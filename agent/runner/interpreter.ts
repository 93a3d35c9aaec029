/**
 * The Python interpreter for function payloads, resolved once to its real path (sys.executable).
 * Version-manager shims make every start far slower (here: 200 starts of the pyenv shim took
 * 8.8 s, 400 of the real binary 1.8 s), and a job should not depend on the PATH it inherits.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError } from '../../shared/errors.js';

const run = promisify(execFile);

export interface Interpreter {
  /** What was configured, e.g. `python3`, a venv's python, a conda env's. */
  configured: string;
  /** Absolute path of the real binary. */
  path: string;
  version: string;
}

export async function resolveInterpreter(
  configured: string,
  env: NodeJS.ProcessEnv,
): Promise<Interpreter> {
  try {
    const { stdout } = await run(
      configured,
      ['-c', 'import sys; print(sys.executable); print(sys.version.split()[0])'],
      { env, timeout: 30_000 },
    );
    const [path, version] = stdout.trim().split('\n');
    if (!path || !version) throw new Error(`unexpected output ${JSON.stringify(stdout)}`);
    return { configured, path, version };
  } catch (err) {
    throw new ConfigError([
      `python interpreter ${JSON.stringify(configured)} cannot be run: ${(err as Error).message}`,
    ]);
  }
}
