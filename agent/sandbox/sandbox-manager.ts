/**
 * The agent's sandbox store: fetches users' code tarballs, installs them safely into a
 * content-addressed, read-only store, and hands out referenced entries to running jobs.
 *
 *   install(url) ─ cache hit (URL index or given sha256, entry present) ─────────────► handle
 *        │ miss: single-flight per URL
 *        ▼
 *   download ══(sha256 on the way)══► extraction worker → staging/…/tree
 *        ▼ digest known: single-flight per digest + cross-process lock
 *   [build] → freeze → rename into store/<sha256> → URL index → handle
 *                                              (any failure: the staging directory is removed)
 *
 * References are counted per process; eviction (LRU under the quota, after every new entry and
 * on evict()) never removes an entry this process references or is installing. One agent owns a
 * root: other processes may install into it concurrently (the lock makes that safe), but only
 * the owner evicts.
 */
import { FailureCode, PgcError, toFailure } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { Evictor } from './evictor.js';
import {
  entryExists,
  fetchAndExtract,
  installDigest,
  type PipelineDeps,
  workerLimits,
} from './install-pipeline.js';
import {
  type ResolvedSandboxOptions,
  resolveSandboxOptions,
  type SandboxOptions,
} from './options.js';
import { SingleFlight } from './single-flight.js';
import {
  cleanStaleStaging,
  cleanStaleTemps,
  prepareRoot,
  removeTree,
  type StoreLayout,
} from './store-layout.js';
import { type InstalledSandbox, StoreReferences } from './store-references.js';
import { UrlIndex } from './url-index.js';
import { isOverwriteUrl } from './url-policy.js';
import { WorkerLauncher } from './worker-launcher.js';

export {
  DownloadError,
  type DownloadFailureReason,
  type DownloadOptions,
  type DownloadResult,
  downloadToFile,
} from './download.js';
export type { SandboxBuildOptions, SandboxOptions } from './options.js';
export type { InstalledSandbox } from './store-references.js';

type State = 'open' | 'closing' | 'closed';

export class SandboxManager {
  private state: State = 'open';
  private readonly urlFlights = new SingleFlight<string, string>();
  private readonly digestFlights = new SingleFlight<string, boolean>();
  private readonly lifetime = new AbortController();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly references: StoreReferences;
  private readonly evictor: Evictor;
  private readonly deps: PipelineDeps;
  private readonly workers: WorkerLauncher;

  private constructor(
    private readonly layout: StoreLayout,
    options: ResolvedSandboxOptions,
    log: Logger,
    private readonly index: UrlIndex,
  ) {
    this.workers = new WorkerLauncher(workerLimits(options), log);
    this.deps = { layout, options, log, workers: this.workers };
    this.references = new StoreReferences(layout, () => {
      if (this.evictor.overQuota && this.state === 'open') this.scheduleEviction();
    });
    this.evictor = new Evictor({
      layout,
      quotaBytes: options.quotaBytes,
      log,
      references: this.references,
      installing: (digest) => this.digestFlights.has(digest),
      evicted: async (digests) => {
        for (const digest of digests) index.forgetDigest(digest);
        await index.prune((digest) => entryExists(layout, digest));
      },
    });
  }

  static async open(options: SandboxOptions): Promise<SandboxManager> {
    const resolved = resolveSandboxOptions(options);
    const log = resolved.log.child({ component: 'sandbox' });
    const layout = await prepareRoot(resolved.root);
    // Whatever a crashed or killed agent left half-done (RELIABILITY §1.4.6).
    const removed = await cleanStaleStaging(layout);
    if (removed.length > 0) log.info({ removed }, 'removed staging directories of dead processes');
    await cleanStaleTemps(layout);
    const manager = new SandboxManager(layout, resolved, log, new UrlIndex(layout.index));
    try {
      await manager.workers.warmUp();
    } catch (err) {
      await manager.close();
      throw err;
    }
    return manager;
  }

  /** Fetch (unless cached) + verify + extract + build + freeze; resolves with a referenced entry. */
  async install(
    source: { url: string; sha256?: string },
    signal?: AbortSignal,
  ): Promise<InstalledSandbox> {
    this.assertOpen('install');
    const url = source.url;
    const expected = normaliseDigest(source.sha256);
    const overwrite = isOverwriteUrl(url);
    const known = expected ?? (overwrite ? undefined : this.index.get(url));
    if (known !== undefined) {
      const hit = await this.references.take(known);
      if (hit !== undefined) return hit;
    }
    const combined = AbortSignal.any(
      signal ? [signal, this.lifetime.signal] : [this.lifetime.signal],
    );
    const key = `${expected ?? ''} ${url}`;
    try {
      // An entry evicted between being installed and being referenced is installed again.
      for (let round = 0; round < 3; round++) {
        const digest = await this.urlFlights.run(
          key,
          (s) => this.track(this.fetchAndInstall(url, expected, overwrite, s)),
          combined,
        );
        const installed = await this.references.take(digest);
        if (installed !== undefined) return installed;
      }
    } catch (err) {
      throw installError(err, combined);
    }
    throw new PgcError(
      FailureCode.SANDBOX_UNAVAILABLE,
      `sandbox ${url} was evicted while being installed`,
      { retryable: true },
    );
  }

  /** Re-takes a reference to an entry already in the store (a restarted agent re-attaching to a running job); undefined if gone. */
  reference(digest: string): InstalledSandbox | undefined {
    this.assertOpen('reference');
    return this.references.reference(digest);
  }

  /** Evicts unreferenced entries, least recently used first, until the store is under quota. */
  evict(): Promise<void> {
    return this.evictor.evict();
  }

  /** Cancels installs in progress, waits for their cleanup; references stay valid. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closing';
      const reason = new PgcError(
        FailureCode.CANCELLED,
        'sandbox install cancelled: the agent is shutting down',
      );
      this.lifetime.abort(reason);
      this.urlFlights.abortAll(reason);
      this.digestFlights.abortAll(reason);
    }
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.evictor.idle();
    await this.workers.close();
    this.state = 'closed';
  }

  private async fetchAndInstall(
    url: string,
    expected: string | undefined,
    overwrite: boolean,
    signal: AbortSignal,
  ): Promise<string> {
    if (!overwrite) {
      const indexed = await this.index.lookup(url);
      if (
        indexed !== undefined &&
        (expected === undefined || indexed === expected) &&
        (await entryExists(this.layout, indexed))
      ) {
        return indexed;
      }
    }
    let digest: string;
    let published: boolean;
    if (expected !== undefined) {
      // The digest is known: one download per digest, even across processes (under the lock).
      digest = expected;
      published = await this.digestFlights.run(
        digest,
        (s) => this.track(installDigest(this.deps, digest, url, undefined, s)),
        signal,
      );
    } else {
      // The digest is known only once the download ends, so extraction runs first, in staging;
      // publishing happens under the digest's flight and lock.
      const tree = await fetchAndExtract(this.deps, url, signal);
      digest = tree.digest;
      let handedOver = false;
      try {
        published = await this.digestFlights.run(
          digest,
          (s) => {
            handedOver = true;
            return this.track(installDigest(this.deps, digest, url, tree, s));
          },
          signal,
        );
      } finally {
        if (!handedOver) await removeTree(tree.staging);
      }
    }
    if (!overwrite) await this.index.record(url, digest);
    if (published) this.scheduleEviction();
    return digest;
  }

  private scheduleEviction(): void {
    const run = this.evictor.schedule();
    if (run !== undefined) this.track(run);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const forget = (): void => {
      this.pending.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  private assertOpen(method: string): void {
    if (this.state !== 'open') {
      throw new PgcError(
        FailureCode.FAILED_PRECONDITION,
        `sandbox manager is ${this.state}; cannot ${method}`,
      );
    }
  }
}

function normaliseDigest(sha256: string | undefined): string | undefined {
  if (sha256 === undefined || sha256 === '') return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new PgcError(
      FailureCode.INVALID_ARGUMENT,
      `sandbox sha256 ${JSON.stringify(sha256)} is not 64 hex digits`,
    );
  }
  return sha256.toLowerCase();
}

/** Every failure leaves install() as a PgcError with a code a user can act on. */
function installError(err: unknown, signal: AbortSignal): PgcError {
  if (err instanceof PgcError) return err;
  if (
    signal.aborted &&
    (err === signal.reason || (err instanceof Error && err.name === 'AbortError'))
  ) {
    const reason: unknown = signal.reason;
    if (reason instanceof PgcError) return reason;
    const why = typeof reason === 'string' ? `: ${reason}` : '';
    return new PgcError(FailureCode.CANCELLED, `sandbox install cancelled${why}`, {
      cause: reason,
    });
  }
  const failure = toFailure(err);
  if (failure.code === FailureCode.NO_SPACE) {
    return new PgcError(
      FailureCode.NO_SPACE,
      `no space left for the sandbox store: ${failure.message}`,
      { cause: err },
    );
  }
  return new PgcError(failure.code, `sandbox install failed: ${failure.message}`, {
    cause: err,
    retryable: failure.retryable,
  });
}
