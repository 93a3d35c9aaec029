/**
 * Live log shipping: every running job's stdout and stderr are tailed (a poll every
 * `pollIntervalMs`, 200 ms by default) and shipped as LogChunk messages to
 * `<prefix>.log.<endpoint>.<pandaId>` with Nats-Msg-Id `log.<attempt>.<stream>.<seq>`. Payloads
 * write to files, never to the agent, so NATS being away only makes shipping lag; it catches up
 * when NATS returns (each stream backs off on its own). `finish()` drains both streams of an
 * ended job to their eof chunks; the result waits for it (agent/delivery/).
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { type BackoffPolicy, backoffDelayMs } from '../../shared/backoff.js';
import { describeError } from '../../shared/errors.js';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import { LogChunk, LogStream } from '../../shared/gen/pgc/v1/events.js';
import { attemptId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { messageIds, type NatsNames } from '../../shared/nats/subjects.js';
import type { LogShipStore } from './ship-store.js';
import { StreamShipper } from './stream-shipper.js';

/** Chunks carry at most this much of a file (well under the streams' 1 MiB message limit). */
export const MAX_CHUNK_BYTES = 64 * 1024;
const BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, multiplier: 2, jitter: 0.3 };

export interface LoggedJob {
  key: JobKey;
  logFiles: { stdout: string; stderr: string };
}

export interface LogShipperOptions {
  endpointId: string;
  names: NatsNames;
  store: LogShipStore;
  /** Per job and stream: bytes shipped at most before the truncation marker. */
  capBytes: number;
  /** The jobs whose payloads run now (tailed live). */
  running: () => LoggedJob[];
  log: Logger;
  pollIntervalMs?: number;
  publishTimeoutMs?: number;
  /** Told of each chunk JetStream acknowledged (metrics). */
  onShipped?: (bytes: number) => void;
}

interface Tail {
  streams: StreamShipper[];
  failures: number;
  retryAtMs: number;
}

export class LogShipper {
  private js: JetStreamClient | undefined;
  private readonly tails = new Map<string, Tail>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: LogShipperOptions) {}

  /** Starts tailing with this JetStream client. */
  start(js: JetStreamClient): void {
    this.js = js;
    if (this.timer === undefined && !this.closed) this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.tick();
      if (!this.closed) this.schedule();
    }, this.options.pollIntervalMs ?? 200);
  }

  private tick(): void {
    const now = Date.now();
    for (const job of this.options.running()) {
      const tail = this.tailOf(job);
      if (tail.retryAtMs > now) continue;
      for (const shipper of tail.streams) {
        if (shipper.busy || shipper.finished) continue;
        shipper.pump(false).then(
          () => {
            tail.failures = 0;
          },
          (err: unknown) => this.failed(job.key, tail, err),
        );
      }
    }
  }

  private failed(key: JobKey, tail: Tail, err: unknown): void {
    if (this.closed) return;
    const delayMs = backoffDelayMs(tail.failures++, BACKOFF);
    tail.retryAtMs = Date.now() + delayMs;
    // One warning per outage and job, not one per poll.
    const level = tail.failures === 1 ? 'warn' : 'debug';
    this.options.log[level](
      { pandaId: key.pandaId, attemptNr: key.attemptNr, delayMs, err: describeError(err) },
      'cannot ship log chunks yet; the payload is not affected, shipping will catch up',
    );
  }

  private tailOf(job: LoggedJob): Tail {
    const id = attemptId(job.key);
    let tail = this.tails.get(id);
    if (tail === undefined) {
      const make = (stream: LogStream, file: string) =>
        new StreamShipper({
          key: job.key,
          stream,
          file,
          capBytes: this.options.capBytes,
          maxChunkBytes: MAX_CHUNK_BYTES,
          store: this.options.store,
          publish: (chunk) => this.publish(chunk),
        });
      tail = {
        streams: [
          make(LogStream.STDOUT, job.logFiles.stdout),
          make(LogStream.STDERR, job.logFiles.stderr),
        ],
        failures: 0,
        retryAtMs: 0,
      };
      this.tails.set(id, tail);
    }
    return tail;
  }

  private async publish(chunk: LogChunk): Promise<void> {
    const js = this.js;
    if (js === undefined || this.closed) throw new Error('not connected to NATS');
    const key = chunk.key ?? { pandaId: 0, attemptNr: 0 };
    await js.publish(
      this.options.names.jobLogs(this.options.endpointId, key.pandaId),
      LogChunk.encode(chunk).finish(),
      {
        msgID: messageIds.log(key, chunk.stream, chunk.seq),
        timeout: this.options.publishTimeoutMs ?? 5000,
      },
    );
    this.options.onShipped?.(chunk.data.length);
  }

  /**
   * Ships the rest of both streams of an ended job, each closed by an eof chunk; resolves once
   * JetStream acknowledged them. Rejects on a publish failure; calling again resumes.
   */
  async finish(job: LoggedJob): Promise<void> {
    await Promise.all(this.tailOf(job).streams.map((s) => s.pump(true)));
  }

  /** Drops an attempt whose result was delivered (its records and its tail). */
  async forget(key: JobKey): Promise<void> {
    this.tails.delete(attemptId(key));
    await this.options.store.forget(key);
  }

  /** Stops tailing; resolves once no publish is in flight (the store may then be closed). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all([...this.tails.values()].flatMap((t) => t.streams.map((s) => s.idle())));
  }
}
