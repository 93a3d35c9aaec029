/**
 * The optional build step (e.g. `pip install --target . -r requirements.txt`), run once per
 * digest with /bin/sh -c in the staged tree before it is frozen. Its stdout and stderr go to a
 * build log (capped; a marker says when output was dropped). It runs in its own process group so
 * a timeout or cancellation kills everything it started, and with a small explicit environment:
 * the build runs the user's code, which must not see the agent's credentials.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FailureCode, PgcError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

export interface BuildStepOptions {
  command: string;
  /** The staged tree. */
  cwd: string;
  logPath: string;
  /** Where the log is kept (outside the store) when the build fails; named in the error. */
  failedLogPath: string;
  timeoutMs: number;
  /** Environment of the build; HOME and TMPDIR are set to scratch directories unless given. */
  env: Record<string, string>;
  home: string;
  tmp: string;
  maxLogBytes: number;
  signal?: AbortSignal;
  log: Logger;
}

export const DEFAULT_BUILD_PATH = '/usr/local/bin:/usr/bin:/bin';
/** Failed build logs kept (newest first); they are for users to read, not an archive. */
const KEEP_FAILED_LOGS = 100;
const PIPE_GRACE_MS = 2_000;

async function pruneLogs(dir: string, keep: number): Promise<void> {
  const names = await readdir(dir);
  if (names.length <= keep) return;
  const dated = await Promise.all(
    names.map(async (name) => ({
      name,
      mtimeMs: await stat(join(dir, name)).then(
        (st) => st.mtimeMs,
        () => 0,
      ),
    })),
  );
  dated.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { name } of dated.slice(keep)) await unlink(join(dir, name)).catch(() => undefined);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone already
  }
}

/** Runs the build; resolves on exit code 0, rejects with BUILD_FAILED (or the abort reason). */
export async function runBuildStep(options: BuildStepOptions): Promise<void> {
  const log = createWriteStream(options.logPath, { flags: 'w', mode: 0o644 });
  const opened = new Promise<void>((resolve, reject) => {
    log.once('open', () => resolve());
    log.once('error', reject);
  });
  await opened;
  let written = 0;
  let truncated = false;
  // A full disk while logging must not crash the agent; the build's exit status still counts.
  log.on('error', (err) => {
    truncated = true;
    options.log.warn({ err: err.message, logPath: options.logPath }, 'cannot write the build log');
  });
  const capture = (chunk: Buffer): void => {
    if (truncated) return;
    const room = options.maxLogBytes - written;
    if (chunk.length > room) {
      log.write(chunk.subarray(0, Math.max(0, room)));
      log.write(`\n[build log truncated at ${options.maxLogBytes} bytes]\n`);
      written = options.maxLogBytes;
      truncated = true;
      return;
    }
    written += chunk.length;
    log.write(chunk);
  };
  log.write(`$ ${options.command}\n`);

  let outcome: {
    code: number | null;
    signal: NodeJS.Signals | null;
    timedOut: boolean;
    error?: Error;
  };
  try {
    outcome = await new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', options.command], {
        cwd: options.cwd,
        env: {
          PATH: DEFAULT_BUILD_PATH,
          HOME: options.home,
          TMPDIR: options.tmp,
          LANG: 'C.UTF-8',
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, options.timeoutMs);
      const onAbort = (): void => killGroup(child.pid);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', capture);
      child.stderr.on('data', capture);
      child.on('error', (error) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve({ code: null, signal: null, timedOut, error });
      });
      child.on('exit', () => {
        // Whatever the build left running in the background would keep changing the tree (and
        // hold its output pipes open): kill the group; if something escaped it (setsid), stop
        // reading after a grace period.
        killGroup(child.pid);
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
        }, PIPE_GRACE_MS).unref();
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve({ code, signal, timedOut });
      });
    });
  } finally {
    await new Promise<void>((resolve) => log.end(resolve));
  }
  if (options.signal?.aborted) throw options.signal.reason;
  let failure: string | undefined;
  if (outcome.error) failure = `build step could not start: ${outcome.error.message}`;
  else if (outcome.timedOut) failure = `build step did not finish within ${options.timeoutMs} ms`;
  else if (outcome.signal) failure = `build step was killed by ${outcome.signal}`;
  else if (outcome.code !== 0) failure = `build step failed with exit code ${outcome.code}`;
  if (failure === undefined) {
    options.log.info({ logPath: options.logPath }, 'sandbox build step succeeded');
    return;
  }
  // The staging directory is about to go; keep the log where the user can be pointed to it.
  await rename(options.logPath, options.failedLogPath);
  await pruneLogs(dirname(options.failedLogPath), KEEP_FAILED_LOGS);
  throw new PgcError(FailureCode.BUILD_FAILED, `${failure} (see ${options.failedLogPath})`);
}
