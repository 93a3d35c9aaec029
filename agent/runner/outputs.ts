/**
 * Collecting declared outputs from the job's working directory only: regular files, never
 * followed through a link (a payload could point one at the agent's credentials), capped in size,
 * with size, adler32 (8 lowercase hex) and sha256 computed in one pass.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { digestFile } from '../../shared/checksum.js';
import { FailureCode, PgcError } from '../../shared/errors.js';
import type { OutputFile, OutputInfo } from '../../shared/gen/pgc/v1/job.js';

export interface CollectedOutputs {
  outputs: OutputInfo[];
  /** Set when a declared output is missing, not a regular file, or too large. */
  problem?: PgcError;
}

export async function collectOutputs(
  declared: readonly OutputFile[],
  cwd: string,
  maxOutputBytes: number,
): Promise<CollectedOutputs> {
  const outputs: OutputInfo[] = [];
  let problem: PgcError | undefined;
  for (const output of declared) {
    const path = join(cwd, output.localName);
    let kind: string;
    try {
      const stat = lstatSync(path);
      kind = stat.isSymbolicLink()
        ? 'a symbolic link'
        : stat.isFile()
          ? stat.size > maxOutputBytes
            ? 'too large'
            : 'file'
          : 'not a regular file';
    } catch {
      kind = 'missing';
    }
    if (kind !== 'file') {
      const code = kind === 'too large' ? FailureCode.OUTPUT_TOO_LARGE : FailureCode.OUTPUT_MISSING;
      const text =
        kind === 'too large'
          ? `is larger than the ${maxOutputBytes} bytes allowed`
          : kind === 'missing'
            ? 'was not produced'
            : `is ${kind}; outputs must be regular files`;
      problem ??= new PgcError(code, `output ${output.localName} ${text}`);
      continue;
    }
    const digests = await digestFile(path);
    outputs.push({
      localName: output.localName,
      lfn: output.lfn,
      sizeBytes: digests.sizeBytes,
      adler32: digests.adler32,
      sha256: digests.sha256,
      guid: output.guid,
      location: { where: { $case: 'path', path } },
    });
  }
  return problem === undefined ? { outputs } : { outputs, problem };
}
