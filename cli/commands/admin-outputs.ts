/**
 * `pgc outputs <id> [-o DIR]`: downloads every output the object store holds, each verified
 * against the adler32 and size in the job record, and says where the others are (a path on the
 * site's filesystem). Exit 1 if any download failed or did not verify; the rest are kept.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, FailureCode } from '../../shared/errors.js';
import type { OutputInfo } from '../../shared/gen/pgc/v1/job.js';
import {
  AdminCallError,
  type AdminConnection,
  type AdminFlags,
  withAdmin,
} from '../admin/connection.js';
import { downloadVerified } from '../admin/download.js';
import { stateWord } from '../admin/shapes.js';
import { bytes } from '../admin/table.js';
import type { CliIo } from '../program.js';

export interface OutputsFlags extends AdminFlags {
  output: string;
}

interface FileOutcome {
  lfn: string;
  sizeBytes: number;
  adler32: string;
  status: 'downloaded' | 'on-filesystem' | 'not-stored' | 'failed';
  file: string | null;
  path: string | null;
  error: string | null;
}

export async function runOutputs(pandaId: number, flags: OutputsFlags, io: CliIo): Promise<void> {
  const outcomes = await withAdmin(flags, async (admin) => {
    const detail = await admin.getJob(pandaId);
    const result = detail.result;
    if (result === undefined) {
      const state = detail.summary ? stateWord(detail.summary.state) : 'unknown';
      throw new AdminCallError(
        FailureCode.FAILED_PRECONDITION,
        `job ${pandaId} has no result yet (${state}): no outputs to download`,
      );
    }
    await mkdir(flags.output, { recursive: true });
    const out: FileOutcome[] = [];
    for (const file of result.outputs) out.push(await fetchOne(admin, pandaId, file, flags.output));
    return out;
  });
  if (flags.json) io.stdout(`${JSON.stringify({ files: outcomes })}\n`);
  else if (outcomes.length === 0) io.stdout(`job ${pandaId} has no outputs\n`);
  else for (const o of outcomes) io.stdout(`${describe(o)}\n`);
  const failed = outcomes.filter((o) => o.status === 'failed');
  if (failed.length > 0)
    throw new AdminCallError(
      FailureCode.STAGE_OUT_FAILED,
      `${failed.length} of ${outcomes.length} outputs failed: ${failed.map((o) => o.error).join('; ')}`,
    );
}

async function fetchOne(
  admin: AdminConnection,
  pandaId: number,
  file: OutputInfo,
  dir: string,
): Promise<FileOutcome> {
  const base = {
    lfn: file.lfn,
    sizeBytes: file.sizeBytes,
    adler32: file.adler32,
    file: null,
    path: null,
    error: null,
  };
  const where = file.location?.where;
  if (where?.$case === 'path') return { ...base, status: 'on-filesystem', path: where.path };
  if (where === undefined) return { ...base, status: 'not-stored' };
  // An LFN is a file name; anything that could leave the directory is refused.
  if (!/^[^/\0]+$/.test(file.lfn) || file.lfn === '.' || file.lfn === '..')
    return { ...base, status: 'failed', error: `${JSON.stringify(file.lfn)} is not a file name` };
  try {
    const got = await downloadVerified(
      admin.fetchObject({ pandaId, what: { $case: 'outputLfn', outputLfn: file.lfn } }),
      join(dir, file.lfn),
      { adler32: file.adler32, sizeBytes: file.sizeBytes },
      file.lfn,
    );
    return { ...base, status: 'downloaded', file: got.file };
  } catch (err) {
    return { ...base, status: 'failed', error: describeError(err) };
  }
}

function describe(o: FileOutcome): string {
  switch (o.status) {
    case 'downloaded':
      return `${o.file}  ${bytes(o.sizeBytes)}  adler32 ${o.adler32} verified`;
    case 'on-filesystem':
      return `${o.lfn}  on the site's filesystem at ${o.path} (not in the object store)`;
    case 'not-stored':
      return `${o.lfn}  was not stored`;
    case 'failed':
      return `${o.lfn}  FAILED: ${o.error}`;
  }
}
