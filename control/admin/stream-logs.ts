/**
 * Admin.StreamLogs: a job's stdout/stderr from JetStream (subject <prefix>.log.<endpoint>.<id>),
 * read with an ordered consumer, so it works after the job ended and with its agent gone
 * (issue #6). Two phases:
 * - catch-up: every chunk stored when the call began, put in order (log-assembly.ts); with
 *   `tail_lines` only the last lines of each stream are sent, once caught up;
 * - follow (only if asked): new chunks as they come, until the job is final and every requested
 *   stream's eof chunk was seen — or, if the agent died before sending eof, `eofGraceMs` after
 *   the job became final. Agents publish a result only after JetStream took every chunk, so a
 *   final job's chunks are all in the stream by then.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ValidationError } from '../../shared/errors.js';
import type { StreamLogsRequest } from '../../shared/gen/pgc/v1/admin.js';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import { LogChunk, type LogStream } from '../../shared/gen/pgc/v1/events.js';
import { validatePandaId } from '../../shared/ids.js';
import type { NatsNames } from '../../shared/nats/subjects.js';
import { isFinal, type JobRecord, JobState, stateName } from '../job-record.js';
import { notFound, precondition } from './calls.js';
import { LineTail, LogAssembler, wantedStreams } from './log-assembly.js';
import { natsUnavailable, sleep } from './nats-util.js';

/** Largest data of one message sent to the client (gRPC clients accept 4 MiB by default). */
const MAX_SEND_BYTES = 1024 * 1024;

export interface StreamLogsDeps {
  nc: NatsConnection;
  names: NatsNames;
  /** The newest attempt of a PanDA job. */
  findJob: (pandaId: number) => Promise<JobRecord | undefined>;
  /** The current record of one attempt. */
  currentJob: (key: JobKey) => Promise<JobRecord | undefined>;
  /** How long -f waits for missing eof chunks after the job became final. */
  eofGraceMs: number;
  /** How often the job's state is looked at while following. */
  pollMs?: number;
  /** How long a gap inside a stream may hold back later chunks while following. */
  gapWaitMs?: number;
  now: () => number;
}

/** The attempt ran (or runs) at an endpoint whose subject holds its chunks. */
const ranAt = (r: JobRecord): string | undefined =>
  r.state === JobState.DISPATCHED || r.state === JobState.QUEUED ? undefined : r.endpointId;

export async function streamLogs(
  request: StreamLogsRequest,
  write: (chunk: LogChunk) => Promise<void>,
  signal: AbortSignal,
  deps: StreamLogsDeps,
): Promise<void> {
  const pandaId = validatePandaId(request.pandaId);
  if (request.tailLines < 0) throw new ValidationError('tail_lines must not be negative');
  const pollMs = deps.pollMs ?? 200;
  let record = await deps.findJob(pandaId);
  if (record === undefined) throw notFound(`no job ${pandaId}`);
  const key = record.key;
  // A queued or dispatched job has no logs yet; -f waits for it to start somewhere.
  for (;;) {
    if (ranAt(record) !== undefined) break;
    if (isFinal(record.state))
      throw precondition(`job ${pandaId} never ran (${stateName(record.state)}): it has no logs`);
    if (!request.follow)
      throw precondition(
        `job ${pandaId} has not started yet (${stateName(record.state)}); follow it to wait`,
      );
    await sleep(pollMs, signal);
    if (signal.aborted) return;
    record = (await deps.currentJob(key)) ?? record;
  }
  const endpointId = ranAt(record) as string;
  const subject = deps.names.jobLogs(endpointId, pandaId);
  const reader = new LogReader(request, key, write, deps);
  let lastAtStart: number;
  try {
    const jsm = await jetstreamManager(deps.nc);
    const last = await jsm.streams.getMessage(deps.names.logsStream, { last_by_subj: subject });
    lastAtStart = last?.seq ?? 0;
  } catch (err) {
    throw natsUnavailable('reading the logs', err);
  }
  if (lastAtStart === 0) await reader.caughtUp();
  if (lastAtStart === 0 && !request.follow) return;

  let consumer: Awaited<ReturnType<ReturnType<typeof jetstream>['consumers']['get']>>;
  let messages: Awaited<ReturnType<typeof consumer.consume>>;
  try {
    consumer = await jetstream(deps.nc).consumers.get(deps.names.logsStream, {
      filter_subjects: subject,
    });
    messages = await consumer.consume({ max_messages: 32 });
  } catch (err) {
    throw natsUnavailable('reading the logs', err);
  }
  const onAbort = (): void => void messages.close().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  const iterator = messages[Symbol.asyncIterator]();
  let finalSinceMs: number | undefined;
  try {
    let next = iterator.next();
    for (;;) {
      const step = await raceTimer(next, pollMs);
      if (signal.aborted) return;
      if (step !== 'tick') {
        if (step.done) return;
        next = iterator.next();
        await reader.take(step.value.data, key);
        // Caught up: the last chunk stored at the start, or nothing more pending (retention may
        // have dropped that chunk meanwhile).
        if (!reader.live && (step.value.seq >= lastAtStart || step.value.info.pending === 0)) {
          await reader.caughtUp();
          if (!request.follow) return;
        }
        if (!reader.live) continue;
      }
      if (!reader.live) {
        // A quiet tick while catching up: if the consumer has nothing left, the chunks that were
        // stored at the start are gone (retention); do not wait for them forever.
        if ((await consumer.info().catch(() => undefined))?.num_pending !== 0) continue;
        await reader.caughtUp();
        if (!request.follow) return;
        continue;
      }
      await reader.releaseGaps();
      // Following: stop once the job is final and every stream said eof (or the grace ran out).
      const now = deps.now();
      if (finalSinceMs === undefined) {
        const current = await deps.currentJob(key);
        if (current === undefined || isFinal(current.state)) finalSinceMs = now;
      }
      if (finalSinceMs !== undefined && (reader.complete || now - finalSinceMs >= deps.eofGraceMs))
        return await reader.flush();
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await messages.close().catch(() => undefined);
  }
}

/** The next iterator result, or 'tick' after `ms` if none came by then. */
async function raceTimer<T>(next: Promise<T>, ms: number): Promise<T | 'tick'> {
  let timer: NodeJS.Timeout | undefined;
  const tick = new Promise<'tick'>((resolve) => {
    timer = setTimeout(() => resolve('tick'), ms);
  });
  try {
    return await Promise.race([next, tick]);
  } finally {
    clearTimeout(timer);
  }
}

/** Order, tail and send: the state of one StreamLogs call. */
class LogReader {
  private readonly assembler: LogAssembler;
  private readonly tails: Map<LogStream, LineTail> | undefined;
  live = false;

  constructor(
    request: StreamLogsRequest,
    private readonly key: JobKey,
    private readonly write: (chunk: LogChunk) => Promise<void>,
    private readonly deps: StreamLogsDeps,
  ) {
    const streams = wantedStreams(request.stream);
    this.assembler = new LogAssembler(streams);
    const lines = request.tailLines;
    this.tails = lines > 0 ? new Map(streams.map((s) => [s, new LineTail(lines)])) : undefined;
  }

  get complete(): boolean {
    return this.assembler.complete;
  }

  /** One message from the stream: chunks of other attempts of the job are not ours. */
  async take(data: Uint8Array, key: JobKey): Promise<void> {
    let chunk: LogChunk;
    try {
      chunk = LogChunk.decode(data);
    } catch {
      return; // Not a chunk: nothing a reader can show.
    }
    if (chunk.key?.pandaId !== key.pandaId || chunk.key.attemptNr !== key.attemptNr) return;
    await this.emit(this.assembler.accept(chunk, this.deps.now()));
  }

  /** Everything stored at the start was read: gaps there are for good; send the tails. */
  async caughtUp(): Promise<void> {
    await this.emit(this.assembler.releaseHeld(this.deps.now()));
    this.live = true;
    for (const tail of this.tails?.values() ?? []) {
      const chunk = tail.chunk();
      if (chunk !== undefined) await this.send(chunk);
    }
  }

  releaseGaps(): Promise<void> {
    return this.emit(this.assembler.releaseHeld(this.deps.now(), this.deps.gapWaitMs ?? 2000));
  }

  flush(): Promise<void> {
    return this.emit(this.assembler.releaseHeld(this.deps.now()));
  }

  private async emit(chunks: LogChunk[]): Promise<void> {
    for (const chunk of chunks) {
      const tail = this.live ? undefined : this.tails?.get(chunk.stream);
      if (tail !== undefined) tail.push(chunk);
      else await this.send(chunk);
    }
  }

  /** Sends a chunk, split where it exceeds what one message should carry. */
  private async send(chunk: LogChunk): Promise<void> {
    for (let at = 0; at < chunk.data.length || at === 0; at += MAX_SEND_BYTES) {
      const last = at + MAX_SEND_BYTES >= chunk.data.length;
      await this.write({
        ...chunk,
        key: this.key,
        offset: chunk.offset + at,
        data: chunk.data.subarray(at, at + MAX_SEND_BYTES),
        eof: chunk.eof && last,
        truncated: chunk.truncated && last,
      });
      if (last) break;
    }
  }
}
