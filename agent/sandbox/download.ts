/**
 * Streaming downloads, shared by the sandbox and the runner's stage-in. shared/http.ts buffers
 * whole replies; a sandbox may be a gigabyte, so bytes are hashed (sha256 + adler32) and passed
 * on as they arrive and never held in memory.
 *
 * Rules (RELIABILITY §7 test 5): one deadline for the whole download including retries; a cap on
 * the body; only http(s) hosts on the allow-list, checked again on every redirect (at most 3, no
 * https → http); retries with jittered backoff on 5xx, connection errors, truncated bodies and
 * stalls, never on 4xx, refused hosts, oversize bodies or checksum mismatches. Each failure has
 * its own `reason`, so callers and tests tell them apart without parsing messages.
 */
import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { type BackoffPolicy, backoffDelayMs } from '../../shared/backoff.js';
import { FailureCode, PgcError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import {
  DownloadError,
  type DownloadFailureReason,
  type DownloadResult,
  type Fail,
  fetchBody,
  SinkFailure,
} from './http-body.js';

export { DownloadError, type DownloadFailureReason, type DownloadResult, SinkFailure };

export interface DownloadOptions {
  /** Hosts allowed besides loopback: exact names or `*.suffix`. */
  allowHosts?: readonly string[];
  /** Deadline for the whole download, retries included; default 300_000. */
  timeoutMs?: number;
  /** An attempt that receives nothing for this long is retried; default 60_000. */
  stallTimeoutMs?: number;
  /** Default 1 GiB. */
  maxBytes?: number;
  /** Retries after the first attempt; default 3. */
  retries?: number;
  /** Expected digests (hex, any case). */
  sha256?: string;
  adler32?: string;
  tls?: { ca?: Buffer };
  signal?: AbortSignal;
  log?: Logger;
  /** Names the thing in messages: `cannot fetch <what> <url>: …`; default 'sandbox'. */
  what?: string;
  /** Code of every failure except NO_SPACE and CANCELLED; default SANDBOX_UNAVAILABLE. */
  failureCode?: FailureCode;
  backoff?: BackoffPolicy;
}

export interface StreamBodyOptions {
  /** Aborts this attempt early (the consumer has failed). */
  stop?: AbortSignal;
  /** Read ahead of a slow sink by up to this many bytes (default 1 MiB). */
  bufferBytes?: number;
  /** Only sha256 is needed (adler32 comes back as ''); ignored if an adler32 is expected. */
  sha256Only?: boolean;
}

/** Streams the body of one attempt into `sink` and checks the digests. */
export type StreamBody = (sink: Writable, options?: StreamBodyOptions) => Promise<DownloadResult>;

const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000, multiplier: 2, jitter: 0.5 };

/** Downloads `url` to `dest` (created or truncated, never through a symlink; removed on failure). */
export async function downloadToFile(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  try {
    return await withDownload(url, options, async (body) => {
      const file = await open(dest, flags, 0o600);
      // The write stream owns (and closes) the handle.
      const out = file.createWriteStream();
      try {
        return await body(out);
      } catch (err) {
        out.destroy(); // the request may have failed before anything was piped
        // A full disk is the file's fault, not the server's.
        throw err instanceof SinkFailure ? err.cause : err;
      }
    });
  } catch (err) {
    await rm(dest, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Runs `attempt` under the download rules: `attempt` gets a function that streams one GET into a
 * sink, and is retried (from scratch) while the failure is a retryable DownloadError and the
 * deadline allows. Errors `attempt` throws itself (e.g. the archive was rejected) end it at once.
 */
export async function withDownload<T>(
  url: string,
  options: DownloadOptions,
  attempt: (body: StreamBody, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const retries = options.retries ?? 3;
  const code = options.failureCode ?? FailureCode.SANDBOX_UNAVAILABLE;
  const prefix = `cannot fetch ${options.what ?? 'sandbox'} ${displayUrl(url)}`;
  const fail: Fail = (reason, detail, retryable, cause) =>
    new DownloadError(
      reason,
      reason === 'no-space'
        ? FailureCode.NO_SPACE
        : reason === 'cancelled'
          ? FailureCode.CANCELLED
          : code,
      `${prefix}: ${detail}`,
      { retryable, cause },
    );
  const deadline = Date.now() + timeoutMs;
  const overall = new AbortController();
  const timer = setTimeout(
    () => overall.abort(fail('timeout', `no complete reply within ${timeoutMs} ms`, true)),
    timeoutMs,
  );
  const signal = AbortSignal.any(
    options.signal ? [overall.signal, options.signal] : [overall.signal],
  );
  try {
    for (let round = 0; ; round++) {
      try {
        return await attempt(streamer(url, options, signal, fail), signal);
      } catch (raw) {
        const err = asError(raw, signal, fail);
        if (!(err instanceof DownloadError)) throw err;
        const delayMs = backoffDelayMs(round, options.backoff ?? DEFAULT_BACKOFF);
        if (
          !err.retryable ||
          round >= retries ||
          signal.aborted ||
          Date.now() + delayMs >= deadline
        ) {
          throw err;
        }
        options.log?.warn(
          { url: displayUrl(url), attempt: round + 1, delayMs, err: err.message },
          'download failed, retrying',
        );
        await sleep(delayMs, signal);
      }
    }
  } catch (raw) {
    throw asError(raw, signal, fail);
  } finally {
    clearTimeout(timer);
  }
}

function streamer(
  url: string,
  options: DownloadOptions,
  outer: AbortSignal,
  fail: Fail,
): StreamBody {
  return async (sink, { stop, bufferBytes, sha256Only } = {}) => {
    const stallMs = options.stallTimeoutMs ?? 60_000;
    const stall = new AbortController();
    const stallTimer = setTimeout(
      () => stall.abort(fail('timeout', `no data for ${stallMs} ms`, true)),
      stallMs,
    );
    const signals = [outer, stall.signal, ...(stop ? [stop] : [])];
    try {
      const result = await fetchBody(
        {
          url,
          maxBytes: options.maxBytes ?? 1024 ** 3,
          allowHosts: options.allowHosts ?? [],
          ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
          signal: AbortSignal.any(signals),
          fail,
          progress: () => stallTimer.refresh(),
          ...(bufferBytes ? { bufferBytes } : {}),
          skipAdler32: sha256Only === true && options.adler32 === undefined,
        },
        sink,
      );
      checkDigests(result, options, fail);
      return result;
    } catch (err) {
      // A stall aborts only this attempt; report it as such so that it is retried.
      if (stall.signal.aborted && !outer.aborted && !stop?.aborted) throw stall.signal.reason;
      throw err;
    } finally {
      clearTimeout(stallTimer);
    }
  };
}

function checkDigests(result: DownloadResult, options: DownloadOptions, fail: Fail): void {
  const wantSha = options.sha256?.toLowerCase();
  if (wantSha !== undefined && wantSha !== result.sha256) {
    throw fail(
      'checksum',
      `checksum mismatch: expected sha256 ${wantSha}, got ${result.sha256}`,
      false,
    );
  }
  const wantAdler = options.adler32?.toLowerCase();
  if (wantAdler !== undefined && wantAdler !== result.adler32) {
    throw fail(
      'checksum',
      `checksum mismatch: expected adler32 ${wantAdler}, got ${result.adler32}`,
      false,
    );
  }
}

/** PgcErrors pass through; the rest become DownloadErrors with the right reason. */
function asError(raw: unknown, signal: AbortSignal, fail: Fail): PgcError {
  if (raw instanceof PgcError) return raw;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof PgcError) return reason;
    const message = reason instanceof Error ? reason.message : 'cancelled';
    return fail('cancelled', message, false, reason);
  }
  const errno = (raw as NodeJS.ErrnoException | undefined)?.code;
  const message = raw instanceof Error ? raw.message : String(raw);
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return fail('no-space', `no space left on device (${errno})`, true, raw);
  }
  if (errno !== undefined && /^E(ACCES|PERM|ISDIR|NOTDIR|LOOP|ROFS|EXIST|IO|FBIG)$/.test(errno)) {
    return fail('io', `cannot write the download: ${message}`, false, raw);
  }
  return fail('connection', message, true, raw);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The URL without credentials, for messages and logs. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url;
  }
}
