/**
 * The lstat walk that checks an extracted (or built) tree and optionally freezes it read-only
 * (RELIABILITY §1.4.5, §7 test 14). It does not trust the extractor: every node must be a
 * regular file or a directory owned by this user, files must have one link (a hard link to a
 * file elsewhere would let a chmod here change that file), and, for archives, no special or
 * group/other-write bits.
 *
 * Freezing chmods through a descriptor opened with O_NOFOLLOW and checked with fstat against the
 * lstat result, so even a tree someone changes during the walk (a build step's leftover process)
 * cannot make us chmod a file outside it. Synchronous on purpose: it runs in the extraction
 * worker, never on the agent's event loop.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';

export type ViolationKind = 'link' | 'special' | 'hardlink' | 'owner' | 'mode' | 'changed';

export interface TreeViolation {
  kind: ViolationKind;
  /** Relative to the tree root. */
  path: string;
  /** What was found, e.g. "a symbolic link", "mode 4755". */
  found: string;
}

export interface TreeCounts {
  files: number;
  dirs: number;
  bytes: number;
  diskBytes: number;
}

export interface WalkOptions {
  /** Refuse special bits and group/other write (archives); a build's modes are just masked. */
  checkModes: boolean;
  /**
   * chmod dirs 0555 and files 0444 (0555 if owner-executable): 'all', or 'dirs' when the
   * extractor already created the files with their final modes, or 'none'.
   */
  freeze: 'all' | 'dirs' | 'none';
}

export type WalkResult = { ok: true; counts: TreeCounts } | { ok: false; violation: TreeViolation };

export const FROZEN_DIR_MODE = 0o555;

export function frozenFileMode(mode: number): number {
  return mode & 0o100 ? 0o555 : 0o444;
}

const NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function describe(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'an unknown kind of file';
}

export function walkTree(root: string, options: WalkOptions): WalkResult {
  const uid = process.geteuid?.() ?? lstatSync(root).uid;
  const counts: TreeCounts = { files: 0, dirs: 0, bytes: 0, diskBytes: 0 };
  // Directories in pre-order; frozen in reverse so children are done before their parent
  // loses its write bit.
  const dirs: { abs: string; rel: string; st: Stats }[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const rel = pending.pop() as string;
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs);
    const problem = check(st, rel, uid, options.checkModes);
    if (problem) return { ok: false, violation: problem };
    counts.diskBytes += st.blocks * 512;
    if (st.isDirectory()) {
      if (rel !== '') counts.dirs++;
      dirs.push({ abs, rel, st });
      for (const name of readdirSync(abs)) pending.push(rel === '' ? name : `${rel}/${name}`);
      continue;
    }
    counts.files++;
    counts.bytes += st.size;
    if (options.freeze === 'all') {
      const changed = freeze(abs, rel, st, frozenFileMode(st.mode));
      if (changed) return { ok: false, violation: changed };
    }
  }
  if (options.freeze !== 'none') {
    for (let i = dirs.length - 1; i >= 0; i--) {
      const dir = dirs[i] as { abs: string; rel: string; st: Stats };
      const changed = freeze(dir.abs, dir.rel, dir.st, FROZEN_DIR_MODE);
      if (changed) return { ok: false, violation: changed };
    }
  }
  return { ok: true, counts };
}

function check(
  st: Stats,
  rel: string,
  uid: number,
  checkModes: boolean,
): TreeViolation | undefined {
  const path = rel === '' ? '.' : rel;
  if (!st.isFile() && !st.isDirectory())
    return { kind: st.isSymbolicLink() ? 'link' : 'special', path, found: describe(st) };
  if (st.uid !== uid) return { kind: 'owner', path, found: `owner uid ${st.uid}` };
  if (st.isFile() && st.nlink !== 1)
    return { kind: 'hardlink', path, found: `a file with ${st.nlink} hard links` };
  if (checkModes && (st.mode & 0o7022) !== 0) {
    return { kind: 'mode', path, found: `mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}` };
  }
  return undefined;
}

/** chmod the very node that lstat saw, or report that it changed underneath us. */
function freeze(abs: string, rel: string, seen: Stats, mode: number): TreeViolation | undefined {
  const path = rel === '' ? '.' : rel;
  let fd: number;
  try {
    fd = openSync(abs, seen.isDirectory() ? NOFOLLOW | constants.O_DIRECTORY : NOFOLLOW);
  } catch {
    return { kind: 'changed', path, found: 'a node that changed during the walk' };
  }
  try {
    const st = fstatSync(fd);
    if (st.ino !== seen.ino || st.dev !== seen.dev || (st.isFile() && st.nlink !== 1)) {
      return { kind: 'changed', path, found: 'a node that changed during the walk' };
    }
    fchmodSync(fd, mode);
    return undefined;
  } finally {
    closeSync(fd);
  }
}
