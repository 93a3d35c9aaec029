/** Runs the real `pgc` binary, as a user would, and captures what it prints. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PGC_BIN = fileURLToPath(new URL('../../bin/pgc.js', import.meta.url));

export interface PgcRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runPgc(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<PgcRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PGC_BIN, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`pgc ${args.join(' ')} did not finish within ${options.timeoutMs ?? 30_000} ms`),
      );
    }, options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
