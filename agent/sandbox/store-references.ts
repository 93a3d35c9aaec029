/**
 * Which store entries running jobs use. Counts are per process (one agent owns a root); the last
 * use is recorded on disk (store-entries.ts) so LRU order survives restarts. An entry being
 * evicted is marked here in the same tick as the eviction's final "is it referenced?" check, and
 * take() marks a reference before its first await, so the two can never both win.
 */
import { existsSync } from 'node:fs';
import { touchEntry, touchEntrySync } from './store-entries.js';
import { DIGEST_RE, type StoreLayout } from './store-layout.js';

export interface InstalledSandbox {
  /** sha256 of the archive bytes, lowercase hex. */
  digest: string;
  /** Absolute path of the read-only extracted tree (dirs 0555, files 0444, owner-exec 0555). */
  dir: string;
  /** When a build step ran (kept next to the store entry). */
  buildLogPath?: string;
  /** Drops this job's reference (idempotent). */
  release(): void;
}

export class StoreReferences {
  private readonly counts = new Map<string, number>();
  /** Entries being moved out of the store, until their rename is done. */
  private readonly leaving = new Map<string, Promise<void>>();

  constructor(
    private readonly layout: StoreLayout,
    /** Called when an entry loses its last reference. */
    private readonly onUnreferenced: () => void,
  ) {}

  isReferenced(digest: string): boolean {
    return this.counts.has(digest) || this.leaving.has(digest);
  }

  /** References an entry if it is in the store: the cache-hit path, one utimes and one stat. */
  async take(digest: string): Promise<InstalledSandbox | undefined> {
    const leaving = this.leaving.get(digest);
    if (leaving !== undefined) {
      await leaving;
      return undefined;
    }
    this.add(digest);
    if (!(await touchEntry(this.layout, digest))) {
      this.drop(digest);
      return undefined;
    }
    return this.handle(digest);
  }

  /** The synchronous form, for re-attaching to running jobs; undefined if the entry is gone. */
  reference(digest: string): InstalledSandbox | undefined {
    if (!DIGEST_RE.test(digest) || this.leaving.has(digest)) return undefined;
    if (!existsSync(this.layout.treeDir(digest))) return undefined;
    this.add(digest);
    touchEntrySync(this.layout, digest);
    return this.handle(digest);
  }

  /**
   * Marks an unreferenced entry as leaving the store; returns the function that ends the mark
   * (call it once the entry is renamed away), or undefined if it is in use.
   */
  beginEviction(digest: string): (() => void) | undefined {
    if (this.isReferenced(digest)) return undefined;
    let done = (): void => undefined;
    this.leaving.set(digest, new Promise<void>((resolve) => (done = resolve)));
    return () => {
      this.leaving.delete(digest);
      done();
    };
  }

  private handle(digest: string): InstalledSandbox {
    let released = false;
    const buildLog = this.layout.buildLog(digest);
    return Object.freeze({
      digest,
      dir: this.layout.treeDir(digest),
      ...(existsSync(buildLog) ? { buildLogPath: buildLog } : {}),
      release: () => {
        if (released) return;
        released = true;
        // Last use = the end of the last job that used it (recorded before it can be evicted).
        touchEntrySync(this.layout, digest);
        this.drop(digest);
      },
    });
  }

  private add(digest: string): void {
    this.counts.set(digest, (this.counts.get(digest) ?? 0) + 1);
  }

  private drop(digest: string): void {
    const count = (this.counts.get(digest) ?? 1) - 1;
    if (count > 0) {
      this.counts.set(digest, count);
      return;
    }
    this.counts.delete(digest);
    this.onUnreferenced();
  }
}
