/**
 * A lock across processes for one store digest: a file created atomically (link(2) of a fully
 * written temp file, which fails with EEXIST like O_EXCL but never exposes a half-written lock)
 * holding the holder's pid, process start time and a nonce. A lock whose holder is dead, or whose
 * pid now names another process (start time differs), is stale and is taken over.
 *
 * Take-over is serialised by a second, short-lived guard file: under the guard the lock is
 * re-read and removed only if it still holds the stale content, so a fresh lock created by a
 * faster contender is never removed. (A process killed while holding the guard leaves it
 * behind; it is removed once its own holder is dead and it is older than GUARD_STALE_MS.)
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { FailureCode, PgcError } from '../../shared/errors.js';
import { processLiveness, selfStartTime } from './proc-stat.js';

export interface LockHolder {
  pid: number;
  startTime: string;
  nonce: string;
}

export function formatLock(holder: LockHolder): string {
  return `${holder.pid} ${holder.startTime} ${holder.nonce}\n`;
}

export function parseLock(text: string): LockHolder | undefined {
  const m = /^(\d+) (\d+) ([0-9a-f]+)\n?$/.exec(text);
  if (!m) return undefined;
  return { pid: Number(m[1]), startTime: m[2] as string, nonce: m[3] as string };
}

const GUARD_STALE_MS = 2_000;
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 500;

export interface AcquireOptions {
  /** Give up after this long while a live process holds the lock. */
  waitMs: number;
  signal?: AbortSignal;
  /** Names the locked thing in the timeout message. */
  what: string;
  /** Called once, when the lock is first found held by another live process. */
  onWait?: (holderPid: number) => void;
}

export class StoreLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly content: string,
  ) {}

  /** Waits (polling) until the lock is ours. */
  static async acquire(path: string, options: AcquireOptions): Promise<StoreLock> {
    const deadline = Date.now() + options.waitMs;
    let delay = POLL_FIRST_MS;
    let waiting = false;
    for (;;) {
      const outcome = await StoreLock.attempt(path);
      if (outcome instanceof StoreLock) return outcome;
      if (outcome.alive && !waiting) {
        waiting = true;
        options.onWait?.(outcome.pid);
      }
      if (options.signal?.aborted) throw options.signal.reason;
      if (Date.now() >= deadline) {
        throw new PgcError(
          FailureCode.SANDBOX_UNAVAILABLE,
          `${options.what} is being installed by process ${outcome.pid} for longer than ${options.waitMs} ms`,
          { retryable: true },
        );
      }
      await pause(Math.min(delay, Math.max(1, deadline - Date.now())), options.signal);
      delay = Math.min(POLL_MAX_MS, delay * 1.5);
    }
  }

  /** One attempt: the lock if it was free or stale, else undefined. */
  static async tryAcquire(path: string): Promise<StoreLock | undefined> {
    for (let i = 0; i < 2; i++) {
      const outcome = await StoreLock.attempt(path);
      if (outcome instanceof StoreLock) return outcome;
      if (outcome.alive) return undefined;
    }
    return undefined;
  }

  /** Removes the lock if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const current = await readFile(this.path, 'utf8').catch(() => undefined);
    if (current === this.content) await unlink(this.path).catch(() => undefined);
  }

  private static async attempt(path: string): Promise<StoreLock | { pid: number; alive: boolean }> {
    const content = formatLock({
      pid: process.pid,
      startTime: selfStartTime(),
      nonce: randomBytes(8).toString('hex'),
    });
    if (await createExclusive(path, content)) return new StoreLock(path, content);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return { pid: 0, alive: false }; // released meanwhile: try again
    const holder = parseLock(text);
    if (holder !== undefined && (await processLiveness(holder.pid, holder.startTime)) === 'alive') {
      return { pid: holder.pid, alive: true };
    }
    await takeOver(path, text);
    return { pid: holder?.pid ?? 0, alive: false };
  }
}

/** Creates `path` with `content` only if it does not exist; the file appears complete or not at all. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function takeOver(path: string, staleText: string): Promise<void> {
  const guard = `${path}.takeover`;
  const mine = formatLock({
    pid: process.pid,
    startTime: selfStartTime(),
    nonce: randomBytes(8).toString('hex'),
  });
  if (!(await createExclusive(guard, mine))) {
    await clearStaleGuard(guard);
    return;
  }
  try {
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === staleText) await unlink(path).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

async function clearStaleGuard(guard: string): Promise<void> {
  const text = await readFile(guard, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const holder = parseLock(text);
  if (holder !== undefined && (await processLiveness(holder.pid, holder.startTime)) === 'alive') {
    return;
  }
  const info = await stat(guard).catch(() => undefined);
  if (info === undefined || Date.now() - info.mtimeMs < GUARD_STALE_MS) return;
  const again = await readFile(guard, 'utf8').catch(() => undefined);
  if (again === text) await unlink(guard).catch(() => undefined);
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
