/**
 * LRU eviction under the store quota. Runs one pass at a time (passes queue up), after every new
 * entry, when an entry loses its last reference while the store is over quota, and on demand.
 * An entry is first renamed out of store/ (under its cross-process lock, so no other process is
 * installing it), then removed; removal makes the read-only tree writable first.
 */
import { chmod, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { chooseEvictions } from './lru.js';
import { listEntries } from './store-entries.js';
import { createStaging, removeTree, type StoreLayout } from './store-layout.js';
import { StoreLock } from './store-lock.js';
import type { StoreReferences } from './store-references.js';

export interface EvictorDeps {
  layout: StoreLayout;
  quotaBytes: number;
  log: Logger;
  references: StoreReferences;
  /** True while this process installs the digest (not yet referenced, not to be evicted). */
  installing: (digest: string) => boolean;
  /** Called after a pass that evicted something. */
  evicted: (digests: string[]) => Promise<void>;
}

export class Evictor {
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  /** The last pass could not get under quota: entries in use exceed it. */
  overQuota = false;

  constructor(private readonly deps: EvictorDeps) {}

  /** Runs a pass after those already queued; rejects if it fails. */
  evict(): Promise<void> {
    const run = this.chain.then(() => {
      this.queued = false;
      return this.pass();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Queues a pass unless one is already waiting; failures are logged. */
  schedule(): Promise<void> | undefined {
    if (this.queued) return undefined;
    this.queued = true;
    return this.evict().catch((err: unknown) =>
      this.deps.log.warn({ err: describeError(err) }, 'sandbox eviction failed'),
    );
  }

  /** Resolves when every queued pass has finished. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async pass(): Promise<void> {
    const { layout, quotaBytes, log, references } = this.deps;
    const busy = (d: string): boolean => references.isReferenced(d) || this.deps.installing(d);
    const plan = chooseEvictions(await listEntries(layout), quotaBytes, busy);
    this.overQuota = plan.overQuota;
    if (plan.overQuota) {
      log.warn(
        { remainingBytes: plan.remainingBytes, quotaBytes },
        'sandbox store stays above quota: the rest is in use',
      );
    }
    const evicted: string[] = [];
    for (const digest of plan.victims) {
      const lock = await StoreLock.tryAcquire(layout.lockFile(digest));
      if (lock === undefined) continue;
      let trash: string | undefined;
      try {
        // Checked again after the awaits; a take() after this point waits for the rename.
        const end = this.deps.installing(digest) ? undefined : references.beginEviction(digest);
        if (end === undefined) continue;
        try {
          trash = await createStaging(layout, 'evict-');
          const entry = layout.entryDir(digest);
          // Moving a directory needs its own write bit (to update its "..").
          await chmod(entry, 0o700);
          await rename(entry, join(trash, 'entry'));
        } catch (err) {
          if (trash !== undefined) await removeTree(trash);
          throw err;
        } finally {
          end();
        }
      } finally {
        await lock.release();
      }
      evicted.push(digest);
      if (trash !== undefined) await removeTree(trash);
      log.info({ digest }, 'sandbox evicted');
    }
    if (evicted.length > 0) await this.deps.evicted(evicted);
  }
}
