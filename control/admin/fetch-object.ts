/**
 * Admin.FetchObject: streams a job's output or log tarball from its endpoint's object-store
 * bucket, where the agent put it (issue #6). The record's JobResult says where each file is; a
 * file the agent left on the site's filesystem (`{path}`) cannot be served from here and the
 * error names the path. Works with the agent gone: the object store keeps the files.
 */
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { ValidationError } from '../../shared/errors.js';
import type { DataChunk, FetchObjectRequest } from '../../shared/gen/pgc/v1/admin.js';
import type { OutputInfo } from '../../shared/gen/pgc/v1/job.js';
import { validatePandaId } from '../../shared/ids.js';
import type { NatsNames } from '../../shared/nats/subjects.js';
import { type JobRecord, stateName } from '../job-record.js';
import { notFound, precondition } from './calls.js';
import { natsUnavailable } from './nats-util.js';

export interface FetchObjectDeps {
  nc: NatsConnection;
  names: NatsNames;
  findJob: (pandaId: number) => Promise<JobRecord | undefined>;
}

export async function fetchObject(
  request: FetchObjectRequest,
  write: (chunk: DataChunk) => Promise<void>,
  signal: AbortSignal,
  deps: FetchObjectDeps,
): Promise<void> {
  const pandaId = validatePandaId(request.pandaId);
  const record = await deps.findJob(pandaId);
  if (record === undefined) throw notFound(`no job ${pandaId}`);
  const { file, what } = pickFile(record, request);
  const where = file.location?.where;
  if (where === undefined) throw precondition(`${what} of job ${pandaId} was not stored`);
  if (where.$case === 'path')
    throw precondition(
      `${what} of job ${pandaId} is not in the object store: it is at ${where.path} on the site's filesystem`,
    );
  const { bucket, name } = where.object;
  // The record came from an agent: it may only point into its own endpoint's bucket.
  const own = record.endpointId === undefined ? undefined : deps.names.bucket(record.endpointId);
  if (bucket !== own)
    throw precondition(`${what} of job ${pandaId} names bucket ${bucket}, not its endpoint's`);

  let object: Awaited<ReturnType<Awaited<ReturnType<Objm['open']>>['get']>>;
  try {
    object = await (await new Objm(deps.nc).open(bucket)).get(name);
  } catch (err) {
    throw natsUnavailable(`reading ${bucket}/${name}`, err);
  }
  if (object === null)
    throw notFound(`${what} of job ${pandaId} is gone from the object store (${bucket}/${name})`);
  const reader = object.data.getReader();
  const onAbort = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  let offset = 0;
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (err) {
        // NATS went away mid-object, or the object's sha256 digest did not match its bytes.
        throw natsUnavailable(`reading ${bucket}/${name}`, err);
      }
      if (next.done || signal.aborted) break;
      await write({ data: Buffer.from(next.value), offset, totalBytes: object.info.size });
      offset += next.value.length;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) return;
  // Resolves empty (undefined, not null) when the object was read whole (nats.js obj 3.4).
  const failed = await object.error.catch((err: unknown) => err);
  if (failed) throw natsUnavailable(`reading ${bucket}/${name}`, failed);
  // An empty object still tells the client its size.
  if (offset === 0) await write({ data: Buffer.alloc(0), offset: 0, totalBytes: 0 });
}

function pickFile(
  record: JobRecord,
  request: FetchObjectRequest,
): { file: OutputInfo; what: string } {
  const pandaId = record.key.pandaId;
  const result = record.result;
  const what = request.what;
  if (what === undefined) throw new ValidationError('say what to fetch: output_lfn or log_archive');
  if (result === undefined)
    throw precondition(
      `job ${pandaId} has no result (${stateName(record.state)}): nothing was stored yet`,
    );
  if (what.$case === 'logArchive') {
    if (result.log === undefined) throw notFound(`job ${pandaId} has no log archive`);
    return { file: result.log, what: `the log archive ${result.log.lfn}` };
  }
  const file = result.outputs.find((o) => o.lfn === what.outputLfn);
  if (file === undefined) throw notFound(`job ${pandaId} has no output ${what.outputLfn}`);
  return { file, what: `output ${file.lfn}` };
}
