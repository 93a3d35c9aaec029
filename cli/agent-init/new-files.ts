/**
 * How `pgc agent init` writes its files: every target is checked before any is written, so a
 * refusal leaves nothing behind; each file is first written beside its target (same filesystem)
 * and moved into place once checked. Without --force the move is link(2), which fails if a file
 * appeared meanwhile, so nothing is overwritten even then.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FailureCode, PgcError } from '../../shared/errors.js';

export interface StagedFile {
  target: string;
  temp: string;
}

function alreadyExists(target: string): PgcError {
  return new PgcError(
    FailureCode.FAILED_PRECONDITION,
    `${target} already exists; pass --force to overwrite it`,
  );
}

/** Throws, naming the first target that exists, unless `force`. */
export function refuseExisting(targets: readonly string[], force: boolean): void {
  if (force) return;
  const existing = targets.find((t) => existsSync(t));
  if (existing !== undefined) throw alreadyExists(existing);
}

/** Writes `text` to a temporary file beside `target`, creating its directory with `dirMode`. */
export function stageFile(target: string, text: string, mode: number, dirMode: number): StagedFile {
  mkdirSync(dirname(target), { recursive: true, mode: dirMode });
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temp, text, { mode, flag: 'wx' });
  return { target, temp };
}

/** Moves a staged file into place: replacing only with `force`. */
export function commitFile(file: StagedFile, force: boolean): void {
  if (force) {
    renameSync(file.temp, file.target);
    return;
  }
  try {
    linkSync(file.temp, file.target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(file.target);
    throw err;
  } finally {
    rmSync(file.temp, { force: true });
  }
}

export function discardFile(file: StagedFile): void {
  rmSync(file.temp, { force: true });
}
