/**
 * The on-disk layout of the sandbox root and the few operations on it:
 *
 *   <root>/            0700, owned by the agent user (RELIABILITY §1.4.6)
 *     store/<sha256>/  one read-only entry per archive digest (0555)
 *       tree/          the extracted sandbox (dirs 0555, files 0444 or 0555)
 *       meta.json      size and counts, for eviction
 *       build.log      output of the build step, when one ran
 *     staging/<pid>-<start>-XXXXXX/   work in progress, removed on any failure
 *     index/<sha256(url)>.json        URL → digest
 *     locks/<sha256>.lock             cross-process install lock
 *     logs/<sha256>.build-failed.log  the log of the last failed build of a digest
 *
 * An entry appears in store/ by one rename of a finished staging directory, so whatever is in
 * store/ is complete. Entries are removed by renaming them back into staging/ first.
 */
import { constants, type Dirent } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  realpath,
  rm,
  unlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../shared/errors.js';
import { processLiveness, selfStartTime } from './proc-stat.js';

export const DIGEST_RE = /^[0-9a-f]{64}$/;
const STAGING_RE = /^(\d+)-(\d+)-[A-Za-z0-9]+$/;

export class StoreLayout {
  readonly store: string;
  readonly staging: string;
  readonly index: string;
  readonly locks: string;
  readonly logs: string;

  constructor(readonly root: string) {
    this.store = join(root, 'store');
    this.staging = join(root, 'staging');
    this.index = join(root, 'index');
    this.locks = join(root, 'locks');
    this.logs = join(root, 'logs');
  }

  entryDir(digest: string): string {
    return join(this.store, digest);
  }

  treeDir(digest: string): string {
    return join(this.store, digest, 'tree');
  }

  buildLog(digest: string): string {
    return join(this.store, digest, 'build.log');
  }

  lockFile(digest: string): string {
    return join(this.locks, `${digest}.lock`);
  }

  failedBuildLog(digest: string): string {
    return join(this.logs, `${digest}.build-failed.log`);
  }
}

/**
 * Creates the root (0700) and its sub-directories, or checks existing ones: each must be a real
 * directory owned by this user, never a symbolic link someone planted.
 */
export async function prepareRoot(root: string): Promise<StoreLayout> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const real = await realpath(root);
  await ownDirectory(real, real);
  const layout = new StoreLayout(real);
  for (const dir of [layout.store, layout.staging, layout.index, layout.locks, layout.logs]) {
    await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await ownDirectory(dir, real);
  }
  return layout;
}

async function ownDirectory(dir: string, root: string): Promise<void> {
  const info = await lstat(dir);
  const uid = process.getuid?.() ?? info.uid;
  if (!info.isDirectory()) {
    throw new ConfigError([`sandbox root: ${dir} is not a directory`]);
  }
  if (info.uid !== uid) {
    throw new ConfigError([
      `sandbox root: ${dir} is owned by uid ${info.uid}, not by this agent (uid ${uid}); choose a directory the agent owns`,
    ]);
  }
  // Nobody else may reach staging or store while we extract (node-tar README: never extract
  // into a directory another party can modify).
  if (dir === root && (info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** A fresh staging directory named after this process, so a later start can tell it is stale. */
export function createStaging(layout: StoreLayout, label = ''): Promise<string> {
  return mkdtemp(join(layout.staging, `${process.pid}-${selfStartTime()}-${label}`));
}

/**
 * Removes a tree that may be read-only. Directories are made writable through a descriptor
 * opened with O_NOFOLLOW, so a symbolic link planted in the tree is never followed (RELIABILITY
 * §7 test 51); fs.rm itself unlinks links instead of descending into them.
 */
export async function removeTree(path: string): Promise<void> {
  await unlockDirs(path);
  await rm(path, { recursive: true, force: true, maxRetries: 2 });
}

async function unlockDirs(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch {
    return; // gone, or not a directory: rm handles it
  }
  try {
    await handle.chmod(0o700);
  } catch {
    // not ours: rm will report it
  } finally {
    await handle.close();
  }
  let children: Dirent[];
  try {
    children = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const child of children) {
    if (child.isDirectory()) await unlockDirs(join(dir, child.name));
  }
}

/** Removes staging directories left by processes that are gone (crash, SIGKILL). */
export async function cleanStaleStaging(layout: StoreLayout): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(layout.staging).catch(() => [] as string[]);
  for (const name of names) {
    const m = STAGING_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid && m[2] === selfStartTime()) continue;
    if ((await processLiveness(pid, m[2] as string)) === 'alive') continue;
    await removeTree(join(layout.staging, name));
    removed.push(name);
  }
  return removed;
}

/** Temp files (`<name>.<pid>.<random>.tmp`) of dead processes in locks/ and index/. */
export async function cleanStaleTemps(layout: StoreLayout): Promise<void> {
  for (const dir of [layout.locks, layout.index]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
      if (!m || Number(m[1]) === process.pid) continue;
      if ((await processLiveness(Number(m[1]), '0')) === 'alive') continue;
      await unlink(join(dir, name)).catch(() => undefined);
    }
  }
}
