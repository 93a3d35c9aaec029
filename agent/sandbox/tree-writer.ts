/**
 * Writes the entries the policy allowed into a fresh directory, inside the extraction worker.
 * Every path was checked by EntryPolicy (relative, no `..`, no duplicates, no type changes) and
 * the tree never contains a link, so plain O_EXCL|O_NOFOLLOW creates are enough: nothing is ever
 * followed, replaced or chowned (the archive's owner is never copied, even as root — stack.md
 * pitfall 14). Synchronous I/O: the worker has nothing else to do, and it is much faster than
 * node-tar's per-file streams.
 */
import {
  closeSync,
  constants,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ReadEntry } from 'tar';
import { quotePath } from './entry-policy.js';
import { frozenFileMode } from './tree-walk.js';
import type { WorkerProblemCode } from './worker-protocol.js';

export interface ExtractProblem {
  code: WorkerProblemCode;
  message: string;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** What a failed write means for the user. */
export function fsProblem(err: unknown, path: string): ExtractProblem {
  const errno = (err as NodeJS.ErrnoException).code;
  const q = quotePath(path);
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return {
      code: 'NO_SPACE',
      message: `no space left on device while extracting entry ${q} (${errno})`,
    };
  }
  if (errno === 'EFBIG') {
    // RLIMIT_FSIZE from prlimit: Node ignores SIGXFSZ, so the write fails instead.
    return {
      code: 'ARCHIVE_LIMITS',
      message: `sandbox too large: entry ${q} exceeds the file size limit`,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message: `cannot write entry ${q}: ${message}` };
}

/** Creates directories and files below `root`, which must be an empty directory we own. */
export class TreeWriter {
  private readonly made = new Set<string>(['']);
  files = 0;
  dirs = 0;

  /** With `finalModes`, files are created read-only right away (no build step follows). */
  constructor(
    private readonly root: string,
    private readonly finalModes: boolean,
  ) {}

  dir(rel: string): void {
    if (this.made.has(rel)) return;
    const slash = rel.lastIndexOf('/');
    if (slash > 0) this.dir(rel.slice(0, slash));
    const abs = join(this.root, rel);
    try {
      mkdirSync(abs, 0o755);
      this.dirs++;
    } catch (err) {
      // Only our own earlier mkdir can be there: the policy refused duplicates and links.
      const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
      if (!exists || !lstatSync(abs).isDirectory()) throw err;
    }
    this.made.add(rel);
  }

  /**
   * Streams one file entry to disk; `fail` gets any write error, and `stopped` says whether the
   * extraction has already failed (then the rest of the data is dropped).
   */
  file(
    entry: ReadEntry,
    rel: string,
    mode: number,
    fail: (problem: ExtractProblem) => void,
    stopped: () => boolean,
  ): void {
    const slash = rel.lastIndexOf('/');
    if (slash > 0) this.dir(rel.slice(0, slash));
    // O_CREAT gives a writable descriptor even for a read-only mode.
    const fd = openSync(
      join(this.root, rel),
      CREATE,
      this.finalModes ? frozenFileMode(mode) : mode,
    );
    this.files++;
    let isOpen = true;
    const close = (): void => {
      if (isOpen) {
        isOpen = false;
        closeSync(fd);
      }
    };
    // 'end' first: attaching 'data' starts the flow, and an empty file ends at once.
    entry.on('end', () => {
      if (!isOpen) return;
      try {
        // Keep mtimes: Python compares them with those recorded in __pycache__.
        const mtime = entry.mtime;
        if (mtime instanceof Date && Number.isFinite(mtime.getTime()))
          futimesSync(fd, mtime, mtime);
        close();
      } catch (err) {
        close();
        fail(fsProblem(err, entry.path));
      }
    });
    entry.on('data', (chunk: Buffer) => {
      if (!isOpen || stopped()) return;
      try {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      } catch (err) {
        close();
        fail(fsProblem(err, entry.path));
      }
    });
  }
}
