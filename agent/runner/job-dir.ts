/**
 * A job's directory. The payload works in `work/`, which holds its inputs, its outputs and a
 * symlink to every top-level entry of the (read-only, shared) sandbox, so user code finds its
 * modules where prun put them without a copy per job. The agent's own files (logs, the
 * supervisor's status, the bootstrap's result) sit beside `work/`, not in it.
 */
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';

export interface JobPaths {
  root: string;
  work: string;
  stdout: string;
  stderr: string;
  status: string;
  /** What the payload itself reads and writes besides work/: the bootstrap's spec and result. */
  payloadFiles: string;
  bootstrapSpec: string;
  result: string;
  error: string;
  logStaging: string;
}

export function jobPaths(root: string): JobPaths {
  return {
    root,
    work: join(root, 'work'),
    stdout: join(root, 'stdout'),
    stderr: join(root, 'stderr'),
    status: join(root, 'status.json'),
    payloadFiles: join(root, 'payload'),
    bootstrapSpec: join(root, 'payload', 'bootstrap.json'),
    result: join(root, 'payload', 'result.json'),
    error: join(root, 'payload', 'error.json'),
    logStaging: join(root, 'log'),
  };
}

/** Symlinks each entry of `from` into `into`, except `skip` (made a real directory instead). */
function linkEntries(from: string, into: string, skip?: string): void {
  for (const name of readdirSync(from)) {
    if (name === skip) continue;
    symlinkSync(join(from, name), join(into, name));
  }
}

/**
 * Creates the job directory and returns the payload's working directory: `work/<runDir>`. Along
 * runDir each level is a real directory mirroring the sandbox's entries by symlinks, so the
 * payload can write its outputs where runGen would have run it.
 */
export function prepareJobDir(
  paths: JobPaths,
  sandboxDir: string | undefined,
  runDir: string,
): string {
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  mkdirSync(paths.work, { mode: 0o700 });
  mkdirSync(paths.payloadFiles, { mode: 0o700 });
  const parts = runDir === '' ? [] : runDir.split('/');
  let here = paths.work;
  let there = sandboxDir;
  for (let i = 0; i <= parts.length; i++) {
    const next = parts[i];
    if (there !== undefined && existsSync(there)) linkEntries(there, here, next);
    if (next === undefined) break;
    here = join(here, next);
    mkdirSync(here, { mode: 0o700 });
    there = there === undefined ? undefined : join(there, next);
  }
  return here;
}

/**
 * Gives a payload that runs as another user what it needs and nothing more: the job root becomes
 * traversable but not listable (0711), and work/ (with the staged inputs) and payload/ become its
 * own. Symbolic links are not followed: the sandbox they point into stays the agent's, read-only.
 */
export function handOver(paths: JobPaths, owner: { uid: number; gid: number }): void {
  chmodSync(paths.root, 0o711);
  const walk = (path: string): void => {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return;
    lchownSync(path, owner.uid, owner.gid);
    if (info.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(paths.work);
  walk(paths.payloadFiles);
}
