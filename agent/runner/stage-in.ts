/**
 * Stage-in: each input is looked up in the sources the agent is configured with, in order — local
 * directories first (a shared filesystem where the site pre-places data, flat or <scope>/<lfn>),
 * then the candidate URLs of the JobSpec — verified by size and checksum, and placed in the job's
 * working directory under its name. A local file is linked, not copied.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { digestFile, parsePandaChecksum } from '../../shared/checksum.js';
import { describeError, FailureCode, PgcError } from '../../shared/errors.js';
import type { InputFile } from '../../shared/gen/pgc/v1/job.js';
import type { Logger } from '../../shared/logger.js';

/** Downloads `url` to `dest` (removing a partial file on failure); agent/sandbox provides it. */
export type Download = (
  url: string,
  dest: string,
  signal?: AbortSignal,
) => Promise<{ sizeBytes: number; adler32: string }>;

export interface StageInOptions {
  localDirs: readonly string[];
  download: Download;
  log: Logger;
  signal?: AbortSignal;
}

async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Undefined when the file matches what PanDA says about it, else why not. */
async function mismatch(
  input: InputFile,
  path: string,
  known?: { sizeBytes: number; adler32: string },
): Promise<string | undefined> {
  const digests = known ?? (await digestFile(path));
  if (input.sizeBytes > 0 && digests.sizeBytes !== input.sizeBytes)
    return `size ${digests.sizeBytes} bytes, expected ${input.sizeBytes}`;
  const expected = parsePandaChecksum(input.checksum);
  if (expected?.kind === 'adler32' && digests.adler32 !== expected.hex)
    return `adler32 ${digests.adler32}, expected ${expected.hex}`;
  if (expected?.kind === 'md5') {
    const md5 = await md5File(path);
    if (md5 !== expected.hex) return `md5 ${md5}, expected ${expected.hex}`;
  }
  return undefined;
}

async function stageOne(input: InputFile, cwd: string, options: StageInOptions): Promise<void> {
  const dest = join(cwd, input.lfn);
  const problems: string[] = [];
  let badChecksum = false;
  const locals = options.localDirs.flatMap((dir) => [
    join(dir, input.lfn),
    ...(input.scope ? [join(dir, input.scope, input.lfn)] : []),
  ]);
  for (const candidate of locals) {
    if (!existsSync(candidate) || !statSync(candidate).isFile()) continue;
    const why = await mismatch(input, candidate);
    if (why === undefined) {
      symlinkSync(candidate, dest);
      return;
    }
    badChecksum = true;
    problems.push(`${candidate}: ${why}`);
  }
  for (const url of input.urls) {
    if (options.signal?.aborted) break;
    try {
      const got = await options.download(url, dest, options.signal);
      const why = await mismatch(input, dest, got);
      if (why === undefined) return;
      unlinkSync(dest);
      badChecksum = true;
      problems.push(`${url}: ${why}`);
    } catch (err) {
      problems.push(`${url}: ${describeError(err)}`);
    }
  }
  const where =
    problems.length > 0
      ? `: ${problems.join('; ')}`
      : ` (looked in ${[...locals, ...input.urls].join(', ') || 'no source'})`;
  if (badChecksum)
    throw new PgcError(
      FailureCode.INPUT_CHECKSUM,
      `input ${input.lfn} does not match its checksum${where}`,
    );
  throw new PgcError(FailureCode.INPUT_MISSING, `input ${input.lfn} was not found${where}`);
}

export async function stageIn(
  inputs: readonly InputFile[],
  cwd: string,
  options: StageInOptions,
): Promise<void> {
  for (const input of inputs) {
    options.log.debug({ lfn: input.lfn }, 'staging in');
    await stageOne(input, cwd, options);
  }
}
