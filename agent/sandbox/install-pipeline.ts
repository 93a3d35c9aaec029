/**
 * The slow path of an install. The download streams straight into the extraction worker's stdin
 * (sha256 computed in the agent on the way), so the archive is read once and never stored, and
 * downloading, decompressing and writing overlap. The tree lands in a fresh staging directory;
 * once the digest is known, under the digest's cross-process lock, the build step runs, the tree
 * is frozen, and the entry is published with one rename into store/<sha256>. Any failure removes
 * the staging directory, so nothing half-made reaches the store (RELIABILITY §1.4.6–7).
 */
import { access, chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FailureCode, PgcError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { runBuildStep } from './build-step.js';
import {
  DownloadError,
  type DownloadOptions,
  type DownloadResult,
  SinkFailure,
  withDownload,
} from './download.js';
import type { ResolvedSandboxOptions } from './options.js';
import type { EntryMeta } from './store-entries.js';
import { createStaging, removeTree, type StoreLayout } from './store-layout.js';
import { StoreLock } from './store-lock.js';
import type { WorkerLimits, WorkerRunOptions } from './worker-client.js';
import type { WorkerLauncher } from './worker-launcher.js';
import type { WorkerStats } from './worker-protocol.js';

/**
 * How far the download may run ahead of the worker: while Node starts in the child (~0.1–0.2 s)
 * the download goes on into this buffer instead of stalling.
 */
const READ_AHEAD_BYTES = 32 * 1024 * 1024;
const MIN_FILE_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

export interface PipelineDeps {
  layout: StoreLayout;
  options: ResolvedSandboxOptions;
  log: Logger;
  workers: WorkerLauncher;
}

/** An extracted tree in its own staging directory, not yet in the store. */
export interface Extracted {
  staging: string;
  /** staging/entry: becomes store/<digest>. */
  entry: string;
  tree: string;
  digest: string;
  stats: WorkerStats;
  startedMs: number;
}

export async function entryExists(layout: StoreLayout, digest: string): Promise<boolean> {
  return access(layout.entryDir(digest)).then(
    () => true,
    () => false,
  );
}

/** Process limits of every extraction worker of a manager. */
export function workerLimits(options: ResolvedSandboxOptions): WorkerLimits {
  return {
    // No single file may exceed the whole extraction cap. The floor leaves room for the worker's
    // own small writes (tsx's compile cache when run from sources) under tiny test caps.
    fileSizeLimitBytes: Math.max(options.limits.maxExtractedBytes, MIN_FILE_SIZE_LIMIT_BYTES),
    cpuLimitSeconds: (options.fetchTimeoutMs + options.extractTimeoutMs) / 1000 + 5,
  };
}

function workerOptions(deps: PipelineDeps, signal: AbortSignal): WorkerRunOptions {
  return { timeoutMs: deps.options.extractTimeoutMs, signal, log: deps.log };
}

/**
 * Downloads `url` into a new extraction worker, retrying as downloads do (each attempt with a new
 * worker and staging directory). The caller owns (and removes) the returned staging directory.
 */
export function fetchAndExtract(
  deps: PipelineDeps,
  url: string,
  signal: AbortSignal,
  sha256?: string,
): Promise<Extracted> {
  const { layout, options, log } = deps;
  const download: DownloadOptions = {
    allowHosts: options.allowHosts,
    timeoutMs: options.fetchTimeoutMs,
    maxBytes: options.maxDownloadBytes,
    retries: options.fetchRetries,
    ...(sha256 ? { sha256 } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    signal,
    log,
  };
  return withDownload(url, download, async (body, attemptSignal) => {
    const startedMs = performance.now();
    const staging = await createStaging(layout);
    try {
      const entry = join(staging, 'entry');
      const tree = join(entry, 'tree');
      await mkdir(tree, { recursive: true, mode: 0o700 });
      // Whichever side fails first stops the other: a rejected archive ends the download, a
      // broken download kills the worker before it sees a truncated archive.
      const stopDownload = new AbortController();
      const killWorker = new AbortController();
      const worker = deps.workers.start(
        {
          op: 'extract',
          target: tree,
          limits: options.limits,
          freeze: options.build === undefined,
        },
        workerOptions(deps, AbortSignal.any([attemptSignal, killWorker.signal])),
      );
      const done = worker.done.catch((err: unknown) => {
        stopDownload.abort(err);
        throw err;
      });
      let got: DownloadResult;
      try {
        got = await body(worker.stdin, {
          stop: stopDownload.signal,
          bufferBytes: READ_AHEAD_BYTES,
          sha256Only: true,
        });
      } catch (err) {
        // A failed download is the answer (the worker may have seen a truncated archive and
        // judged it); the worker's verdict is the answer when it stopped reading first.
        const workerFirst =
          err instanceof SinkFailure ||
          (stopDownload.signal.aborted && !(err instanceof DownloadError));
        if (!workerFirst) killWorker.abort(err);
        const verdict = await done.then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!workerFirst) throw err;
        throw (
          verdict ??
          new PgcError(FailureCode.INTERNAL, 'the extraction worker stopped reading the archive', {
            cause: err,
          })
        );
      }
      const stats = await done;
      log.debug(
        { url, digest: got.sha256, sizeBytes: got.sizeBytes, files: stats.files },
        'sandbox downloaded and extracted',
      );
      return { staging, entry, tree, digest: got.sha256, stats, startedMs };
    } catch (err) {
      await removeTree(staging);
      throw err;
    }
  });
}

/**
 * Makes sure store/<digest> exists. Takes ownership of `extracted` (its staging directory is
 * removed before returning). Without it, downloads and extracts `url` itself, expecting `digest`
 * (then at most one process downloads a given digest at a time). Resolves true if this call
 * published the entry, false if it was there already.
 */
export async function installDigest(
  deps: PipelineDeps,
  digest: string,
  url: string,
  extracted: Extracted | undefined,
  signal: AbortSignal,
): Promise<boolean> {
  const { layout, options } = deps;
  let staging = extracted?.staging;
  try {
    if (await entryExists(layout, digest)) return false;
    const lock = await StoreLock.acquire(layout.lockFile(digest), {
      // The holder may be downloading, extracting and building this very digest.
      waitMs:
        options.fetchTimeoutMs +
        options.extractTimeoutMs +
        (options.build?.timeoutMs ?? 0) +
        60_000,
      signal,
      what: `sandbox ${digest}`,
      onWait: (pid) =>
        deps.log.info({ digest, pid }, 'sandbox is being installed by another process; waiting'),
    });
    try {
      // Another process may have finished it while we waited.
      if (await entryExists(layout, digest)) return false;
      let tree = extracted;
      if (tree === undefined) {
        tree = await fetchAndExtract(deps, url, signal, digest);
        staging = tree.staging;
      }
      await publish(deps, tree, url, signal);
      return true;
    } finally {
      await lock.release();
    }
  } finally {
    if (staging !== undefined) await removeTree(staging);
  }
}

/** Build (if configured), freeze, record metadata, and rename into the store. */
async function publish(
  deps: PipelineDeps,
  extracted: Extracted,
  url: string,
  signal: AbortSignal,
): Promise<void> {
  const { layout, options, log } = deps;
  const { digest, entry, tree, staging } = extracted;
  let stats = extracted.stats;
  if (options.build !== undefined) {
    const home = join(staging, 'home');
    const tmp = join(staging, 'tmp');
    await mkdir(home, { mode: 0o700 });
    await mkdir(tmp, { mode: 0o700 });
    const logPath = join(entry, 'build.log');
    await runBuildStep({
      command: options.build.command,
      cwd: tree,
      logPath,
      failedLogPath: layout.failedBuildLog(digest),
      timeoutMs: options.build.timeoutMs,
      env: options.build.env,
      home,
      tmp,
      maxLogBytes: options.maxBuildLogBytes,
      signal,
      log,
    });
    stats = await deps.workers.run({ op: 'freeze', target: tree }, workerOptions(deps, signal));
    await chmod(logPath, 0o444);
  }
  const meta: EntryMeta = {
    digest,
    sizeBytes: stats.diskBytes + 8192,
    files: stats.files,
    dirs: stats.dirs,
    installedAt: new Date().toISOString(),
    url,
    built: options.build !== undefined,
  };
  await writeFile(join(entry, 'meta.json'), `${JSON.stringify(meta)}\n`, { mode: 0o444 });
  try {
    await rename(entry, layout.entryDir(digest));
  } catch (err) {
    // Only possible if someone ignored the lock; the entry that won is as good as ours.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await entryExists(layout, digest))) return;
    throw err;
  }
  // After the rename: moving a directory needs its own write bit (to update its "..").
  await chmod(layout.entryDir(digest), 0o555);
  log.info(
    {
      digest,
      url,
      files: stats.files,
      dirs: stats.dirs,
      bytes: stats.bytes,
      built: meta.built,
      ms: Math.round(performance.now() - extracted.startedMs),
    },
    'sandbox installed',
  );
}
