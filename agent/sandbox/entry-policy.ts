/**
 * What a sandbox archive may contain, decided entry by entry with no I/O (RELIABILITY §1.4, I4).
 *
 * Only regular files and directories are allowed: about half of node-tar's advisories
 * (CVE-2021-32803/37701/37712, CVE-2026-23745/24842/26960, …) need a symbolic or hard link, and
 * the node-tar README asks callers with untrusted input to filter links out. Any violation
 * rejects the whole archive; nothing is "skipped and continued" (§1.4.3). Paths are checked as
 * strings before anything touches the disk: no absolute paths (CVE-2021-32804), no `..`
 * (T3), no backslashes (CVE-2021-37701), no drive letters (CVE-2021-37713), no NUL
 * (CVE-2026-59875), bounded depth and length (CVE-2024-28863). A path may appear once, and a
 * file may not sit where a directory is or inside a file (T14), so the writer never has to
 * clobber, follow or replace anything. Modes are masked here: no setuid/setgid/sticky and no
 * group/other write (T16, stack.md pitfall 14).
 */

export type ArchiveProblemCode = 'UNSAFE_ARCHIVE' | 'ARCHIVE_LIMITS' | 'BAD_ARCHIVE';

export interface EntryLimits {
  maxEntries: number;
  /** Path components. */
  maxDepth: number;
  /** UTF-8 bytes of the whole normalised path. */
  maxPathBytes: number;
  /** UTF-8 bytes of one component (NAME_MAX on Linux). */
  maxComponentBytes: number;
  /** Sum of the declared sizes of all regular files. */
  maxExtractedBytes: number;
}

/** The parts of a tar header the policy looks at (node-tar's ReadEntry has all of them). */
export interface EntryHeader {
  path: string;
  /** node-tar's type name: File, OldFile, ContiguousFile, Directory, SymbolicLink, Link, … */
  type: string;
  size: number;
  mode?: number;
}

export type EntryDecision =
  | { action: 'file'; path: string; mode: number; size: number }
  | { action: 'dir'; path: string }
  /** The archive's own root (`./`): the target directory already exists. */
  | { action: 'skip' }
  | { action: 'reject'; code: ArchiveProblemCode; message: string };

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

const TYPE_WORDS: Readonly<Record<string, string>> = {
  SymbolicLink: 'a symbolic link',
  Link: 'a hard link',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a FIFO',
  GNUDumpDir: 'a GNU dump directory',
  SparseFile: 'a sparse file',
};

const ONLY = 'only regular files and directories are allowed';

/** A path for a message: quoted, control characters escaped, long paths shortened. */
export function quotePath(path: string): string {
  const escaped = JSON.stringify(path);
  if (escaped.length <= 122) return escaped;
  return `${escaped.slice(0, 80)}…" (${Buffer.byteLength(path)} bytes)`;
}

function reject(code: ArchiveProblemCode, message: string): EntryDecision {
  return { action: 'reject', code, message: `sandbox rejected: ${message}` };
}

/** Masks an archive mode to what the sandbox keeps while staging: 0644, or 0755 if owner-exec. */
export function stagingFileMode(mode: number | undefined): number {
  return (mode ?? 0) & 0o100 ? 0o755 : 0o644;
}

export type PathCheck =
  | { ok: true; parts: string[] }
  | { ok: false; code: ArchiveProblemCode; message: string };

/**
 * Splits an entry path into safe components. `.` and empty components (from `./x`, `a//b`,
 * `dir/`) are dropped; everything that could leave or confuse the target is refused.
 */
export function checkEntryPath(raw: string, limits: EntryLimits): PathCheck {
  const q = quotePath(raw);
  if (raw.includes('\0')) return bad('UNSAFE_ARCHIVE', `entry ${q} contains a NUL byte`);
  if (raw.startsWith('/')) return bad('UNSAFE_ARCHIVE', `entry ${q} is an absolute path`);
  if (raw.includes('\\')) return bad('UNSAFE_ARCHIVE', `entry ${q} contains a backslash`);
  if (/^[A-Za-z]:/.test(raw)) return bad('UNSAFE_ARCHIVE', `entry ${q} starts with a drive letter`);
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return bad('UNSAFE_ARCHIVE', `entry ${q} leaves the sandbox`);
    if (Buffer.byteLength(part) > limits.maxComponentBytes) {
      return bad(
        'ARCHIVE_LIMITS',
        `entry ${q} has a name component longer than ${limits.maxComponentBytes} bytes`,
      );
    }
    parts.push(part);
  }
  if (parts.length > limits.maxDepth) {
    return bad(
      'ARCHIVE_LIMITS',
      `entry ${q} is nested ${parts.length} levels deep; the limit is ${limits.maxDepth}`,
    );
  }
  if (Buffer.byteLength(raw) > limits.maxPathBytes) {
    return bad('ARCHIVE_LIMITS', `entry ${q} has a path longer than ${limits.maxPathBytes} bytes`);
  }
  return { ok: true, parts };
}

function bad(code: ArchiveProblemCode, message: string): PathCheck {
  return { ok: false, code, message };
}

const ASCII = /^[\x20-\x7e]*$/;

/**
 * Decides every entry of one archive in order. Stateful: it remembers each path it allowed
 * (explicitly or as a parent directory) to refuse duplicates and type changes.
 */
export class EntryPolicy {
  private readonly kinds = new Map<string, 'file' | 'dir'>();
  /** NFC spelling → the spelling seen first, for names that are not plain ASCII. */
  private readonly unicodeNames = new Map<string, string>();
  private entryCount = 0;
  private declaredBytes = 0;

  constructor(private readonly limits: EntryLimits) {}

  get entries(): number {
    return this.entryCount;
  }

  get bytes(): number {
    return this.declaredBytes;
  }

  decide(header: EntryHeader): EntryDecision {
    this.entryCount++;
    if (this.entryCount > this.limits.maxEntries) {
      return {
        action: 'reject',
        code: 'ARCHIVE_LIMITS',
        message: `sandbox too large: more than ${this.limits.maxEntries} entries`,
      };
    }
    const q = quotePath(header.path);
    const isFile = FILE_TYPES.has(header.type);
    if (!isFile && header.type !== 'Directory') {
      const what = TYPE_WORDS[header.type];
      return reject(
        'UNSAFE_ARCHIVE',
        what === undefined
          ? `entry ${q} has unsupported type ${header.type}; ${ONLY}`
          : `entry ${q} is ${what}; ${ONLY}`,
      );
    }
    const checked = checkEntryPath(header.path, this.limits);
    if (!checked.ok)
      return {
        action: 'reject',
        code: checked.code,
        message: `sandbox rejected: ${checked.message}`,
      };
    const { parts } = checked;
    if (parts.length === 0) {
      return isFile
        ? reject('UNSAFE_ARCHIVE', `entry ${q} is a file without a name`)
        : { action: 'skip' };
    }
    const path = parts.join('/');
    const conflict = this.claim(parts, isFile ? 'file' : 'dir', q);
    if (conflict !== undefined) return reject('UNSAFE_ARCHIVE', conflict);
    if (!isFile) return { action: 'dir', path };
    const size = header.size;
    this.declaredBytes += size;
    if (this.declaredBytes > this.limits.maxExtractedBytes) {
      return {
        action: 'reject',
        code: 'ARCHIVE_LIMITS',
        message: `sandbox too large: more than ${this.limits.maxExtractedBytes} bytes extracted (entry ${q} declares ${size} bytes)`,
      };
    }
    return { action: 'file', path, mode: stagingFileMode(header.mode), size };
  }

  /** Records the path and its parents; returns why it conflicts with earlier entries, if it does. */
  private claim(parts: string[], kind: 'file' | 'dir', q: string): string | undefined {
    let prefix = '';
    for (let i = 0; i < parts.length; i++) {
      prefix = i === 0 ? (parts[0] as string) : `${prefix}/${parts[i]}`;
      const last = i === parts.length - 1;
      const seen = this.kinds.get(prefix);
      const twin = this.unicodeTwin(prefix);
      if (twin !== undefined) {
        return `entry ${q} and entry ${quotePath(twin)} are the same name in different Unicode normalisations`;
      }
      if (!last) {
        if (seen === 'file')
          return `entry ${q} is inside ${quotePath(prefix)}, which is a regular file`;
        if (seen === undefined) this.kinds.set(prefix, 'dir');
        continue;
      }
      if (seen !== undefined) {
        // A directory listed twice is harmless (mkdir is idempotent); anything else would make
        // the writer replace what it wrote before (T14).
        if (seen === 'dir' && kind === 'dir') return undefined;
        return seen === kind
          ? `entry ${q} appears more than once`
          : `entry ${q} appears more than once, as a ${word(seen)} and as a ${word(kind)}`;
      }
      this.kinds.set(prefix, kind);
    }
    return undefined;
  }

  private unicodeTwin(path: string): string | undefined {
    if (ASCII.test(path)) return undefined;
    const key = path.normalize('NFC');
    const first = this.unicodeNames.get(key);
    if (first === undefined) {
      this.unicodeNames.set(key, path);
      return undefined;
    }
    return first === path ? undefined : first;
  }
}

function word(kind: 'file' | 'dir'): string {
  return kind === 'file' ? 'regular file' : 'directory';
}
