/**
 * The job's log tarball, named by its log LFN like pilot3's (reference §5.2): stdout and stderr
 * (each cut at maxLogBytes with one marker line after the cut), the agent's record of the job,
 * and the sandbox build log when there was one.
 */

import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { digestFile } from '../../shared/checksum.js';
import type { LogFile, OutputInfo } from '../../shared/gen/pgc/v1/job.js';
import type { Launcher } from './launcher.js';

const run = promisify(execFile);

export function truncationMarker(capBytes: number): string {
  return `\n[pgc: truncated at ${capBytes} bytes]\n`;
}

/**
 * Copies at most `capBytes` of `from`, then the marker if anything was cut. Returns whether it cut.
 * The copy is made by the kernel (copy_file_range) and then truncated: the log never passes
 * through the agent's memory.
 */
export function copyCapped(from: string, to: string, capBytes: number): boolean {
  if (!existsSync(from)) {
    writeFileSync(to, '');
    return false;
  }
  copyFileSync(from, to);
  if (statSync(to).size <= capBytes) return false;
  truncateSync(to, capBytes);
  writeFileSync(to, truncationMarker(capBytes), { flag: 'a' });
  return true;
}

export interface LogArchiveInput {
  log: LogFile;
  stdoutFile: string;
  stderrFile: string;
  maxLogBytes: number;
  /** The agent's record of the job (spec, timeline, result), written as pgc-job.json. */
  record: unknown;
  buildLogFile?: string;
  stagingDir: string;
  /** Where the tarball goes. */
  destDir: string;
  /** Runs tar without forking the agent (see launcher.ts). */
  launcher?: Launcher;
}

/** Runs tar through the launcher when there is one, with its stderr kept for the error. */
async function runTar(args: string[], cwd: string, launcher?: Launcher): Promise<void> {
  if (launcher === undefined) {
    await run('tar', args, { cwd });
    return;
  }
  const stderrFile = join(cwd, 'tar.err');
  const ending = await launcher.run({ argv: ['tar', ...args], cwd, stderrFile });
  if (ending !== 0) {
    const why = existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8').trim() : '';
    throw new Error(`tar failed (wait status ${ending}): ${why}`);
  }
}

export async function writeLogArchive(input: LogArchiveInput): Promise<OutputInfo> {
  rmSync(input.stagingDir, { recursive: true, force: true });
  const inner = `tarball_pgc_${basename(input.log.lfn).replace(/\.tgz$|\.tar\.gz$/, '')}`;
  const dir = join(input.stagingDir, inner);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  copyCapped(input.stdoutFile, join(dir, 'stdout.txt'), input.maxLogBytes);
  copyCapped(input.stderrFile, join(dir, 'stderr.txt'), input.maxLogBytes);
  writeFileSync(join(dir, 'pgc-job.json'), `${JSON.stringify(input.record, null, 2)}\n`);
  if (input.buildLogFile !== undefined && existsSync(input.buildLogFile))
    copyFileSync(input.buildLogFile, join(dir, 'build.log'));
  const path = join(input.destDir, input.log.lfn);
  // GNU tar (Essential on Debian) in its own process: a log of hundreds of MB never passes
  // through the agent's heap (node-tar buffered ~100 MB for a 100 MB log here).
  await runTar(
    [
      '--create',
      '--gzip',
      '--file',
      path,
      '--directory',
      input.stagingDir,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      inner,
    ],
    input.stagingDir,
    input.launcher,
  );
  rmSync(input.stagingDir, { recursive: true, force: true });
  const digests = await digestFile(path);
  return {
    localName: input.log.lfn,
    lfn: input.log.lfn,
    sizeBytes: digests.sizeBytes,
    adler32: digests.adler32,
    sha256: digests.sha256,
    guid: input.log.guid,
    location: { where: { $case: 'path', path } },
  };
}
