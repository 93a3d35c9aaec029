/**
 * LevelDB helpers. One process owns a state directory (LevelDB's lock); facts that other
 * processes rely on are written with `sync: true` before they are announced (RELIABILITY.md I5,
 * §6). The directory must be on a local filesystem: LevelDB locking and syncing are not
 * supported on NFS/GPFS/Lustre (google/leveldb #211, classic-level #81).
 */
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { Level } from 'level';
import { ConfigError, FailureCode, PgcError } from './errors.js';

export type Db<V = unknown> = Level<string, V>;

/** Write options for facts another process will rely on. */
export const DURABLE = { sync: true } as const;

export interface OpenDbOptions {
  /** Allow a network filesystem anyway (documented risk). */
  allowNetworkFilesystem?: boolean;
}

const NETWORK_FILESYSTEMS = new Set([
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'smbfs',
  'lustre',
  'gpfs',
  'ceph',
  'beegfs',
  'fuse.sshfs',
  'fuse.glusterfs',
  'glusterfs',
  'afs',
  'panfs',
]);

/** The filesystem type holding `dir`, from /proc/self/mountinfo; undefined where unknown. */
export function filesystemType(dir: string, mountinfo?: string): string | undefined {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return undefined;
    }
  }
  let best: { mount: string; type: string } | undefined;
  for (const line of text.split('\n')) {
    // Fields: id parent major:minor root mount-point options [optional...] - fstype source super
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const mount = left.split(' ')[4]?.replace(/\\040/g, ' ');
    const type = right.split(' ')[0];
    if (mount === undefined || type === undefined) continue;
    const inside = dir === mount || dir.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
    if (inside && (best === undefined || mount.length >= best.mount.length)) best = { mount, type };
  }
  return best?.type;
}

/** Throws a ConfigError when `dir` sits on a network filesystem. */
export function assertLocalFilesystem(dir: string, mountinfo?: string): void {
  const type = filesystemType(dir, mountinfo);
  if (type !== undefined && NETWORK_FILESYSTEMS.has(type)) {
    throw new ConfigError([
      `state directory ${dir} is on a network filesystem (${type}); LevelDB needs a local disk. ` +
        'Choose a local --state-dir (e.g. under /var/tmp) or set allowNetworkFilesystem at your own risk',
    ]);
  }
}

/**
 * Opens (creating if needed) a JSON-valued LevelDB at `dir`, mode 0700. A directory held by
 * another process fails with FAILED_PRECONDITION and a message saying so.
 */
export async function openDb<V = unknown>(
  dir: string,
  options: OpenDbOptions = {},
): Promise<Db<V>> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!options.allowNetworkFilesystem) assertLocalFilesystem(realpathSync(dir));
  const db = new Level<string, V>(dir, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if ((err as { code?: string }).code === 'LEVEL_LOCKED' || cause?.code === 'LEVEL_LOCKED') {
      throw new PgcError(
        FailureCode.FAILED_PRECONDITION,
        `state directory ${dir} is in use by another process (its LevelDB lock is held); ` +
          'stop that process or choose another --state-dir',
        { cause: err },
      );
    }
    throw err;
  }
  return db;
}

/** Reads all values under a key prefix, in key order. */
export async function readPrefix<V>(db: Db<V>, prefix: string): Promise<Array<[string, V]>> {
  return db.iterator({ gte: prefix, lt: `${prefix}\xff` }).all();
}
