/**
 * Stage-out placement, decided when a job finishes: each output up to `objectStoreMaxBytes` and
 * the log tarball go to the endpoint's object-store bucket (uploaded later, before the result is
 * published: agent/delivery/), larger outputs are placed now at `<outputsDir>/<scope>/<lfn>` (a
 * shared filesystem in production), hard-linked when on the same filesystem, else copied by the
 * kernel. The result says where each file is; the uploads still to do are journaled with it, so
 * a restarted agent finishes them (RELIABILITY.md I5).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { describeError, FailureCode, PgcError } from '../../shared/errors.js';
import { checkFileName } from '../../shared/file-names.js';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import type { OutputFile, OutputInfo } from '../../shared/gen/pgc/v1/job.js';
import { objectNames } from '../../shared/nats/subjects.js';

export interface StageOutSettings {
  /** The endpoint's object-store bucket (the control plane creates it). */
  bucket: string;
  /** Outputs up to this size go to the bucket; larger ones to outputsDir. */
  objectStoreMaxBytes: number;
  outputsDir: string;
}

/** A file to put into the object store before the result is published. */
export interface PendingUpload {
  /** Where the file is now (in the job directory). */
  path: string;
  bucket: string;
  name: string;
  sizeBytes: number;
  sha256: string;
}

export interface PlacedOutputs {
  outputs: OutputInfo[];
  uploads: PendingUpload[];
  /** Set when an output could not be placed (it is then left out of `outputs`). */
  problem?: PgcError;
}

function sourcePath(info: OutputInfo): string {
  const where = info.location?.where;
  if (where?.$case !== 'path') throw new Error(`output ${info.lfn} has no local path`);
  return where.path;
}

function toObject(info: OutputInfo, name: string, bucket: string) {
  const upload: PendingUpload = {
    path: sourcePath(info),
    bucket,
    name,
    sizeBytes: info.sizeBytes,
    sha256: info.sha256,
  };
  const placed: OutputInfo = {
    ...info,
    location: { where: { $case: 'object', object: { bucket, name } } },
  };
  return { placed, upload };
}

/** Flushes a file or directory to disk: the result names it only once it is durable. */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Places `from` at `dest` atomically (temporary name, then rename): a hard link when both are on
 * one filesystem, else a kernel copy (copy_file_range; the bytes never pass through the agent).
 * Placing the same file again (a finish repeated after an agent restart) is a no-op.
 */
export function linkOrCopy(from: string, dest: string): 'linked' | 'copied' | 'present' {
  mkdirSync(dirname(dest), { recursive: true });
  const source = statSync(from);
  try {
    const there = statSync(dest);
    if (there.ino === source.ino && there.dev === source.dev) return 'present';
  } catch {}
  const tmp = `${dest}.pgc-${randomBytes(4).toString('hex')}.tmp`;
  let how: 'linked' | 'copied';
  try {
    linkSync(from, tmp);
    how = 'linked';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EXDEV: another filesystem; EPERM: a filesystem without hard links (or protected_hardlinks).
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    copyFileSync(from, tmp);
    fsyncPath(tmp);
    how = 'copied';
  }
  try {
    renameSync(tmp, dest);
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncPath(dirname(dest));
  return how;
}

/** `<outputsDir>/<scope>/<lfn>`, refusing any name that would leave outputsDir. */
export function outputPath(outputsDir: string, scope: string, lfn: string): string {
  checkFileName('output LFN', lfn);
  if (scope !== '') checkFileName('output scope', scope);
  const root = resolve(outputsDir);
  const path = resolve(root, scope, lfn);
  if (!path.startsWith(root + sep))
    throw new PgcError(FailureCode.STAGE_OUT_FAILED, `output ${lfn} would leave ${root}`);
  return path;
}

/** Decides where each collected output goes and places the large ones. */
export function placeOutputs(
  key: JobKey,
  collected: readonly OutputInfo[],
  declared: readonly OutputFile[],
  settings: StageOutSettings,
): PlacedOutputs {
  const outputs: OutputInfo[] = [];
  const uploads: PendingUpload[] = [];
  let problem: PgcError | undefined;
  for (const info of collected) {
    if (info.sizeBytes <= settings.objectStoreMaxBytes) {
      const { placed, upload } = toObject(info, objectNames.output(key, info.lfn), settings.bucket);
      outputs.push(placed);
      uploads.push(upload);
      continue;
    }
    const scope = declared.find((d) => d.lfn === info.lfn)?.scope ?? '';
    try {
      const dest = outputPath(settings.outputsDir, scope, info.lfn);
      linkOrCopy(sourcePath(info), dest);
      outputs.push({ ...info, location: { where: { $case: 'path', path: dest } } });
    } catch (err) {
      problem ??= new PgcError(
        FailureCode.STAGE_OUT_FAILED,
        `output ${info.lfn} could not be placed in ${settings.outputsDir}: ${describeError(err)}`,
        { cause: err },
      );
    }
  }
  return problem === undefined ? { outputs, uploads } : { outputs, uploads, problem };
}

/** The log tarball always goes to the bucket, named by the attempt and its log LFN. */
export function placeLogArchive(
  key: JobKey,
  info: OutputInfo,
  settings: StageOutSettings,
): { log: OutputInfo; upload: PendingUpload } {
  const { placed, upload } = toObject(info, objectNames.logArchive(key, info.lfn), settings.bucket);
  return { log: placed, upload };
}
