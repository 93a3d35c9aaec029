/**
 * Ships one stream (stdout or stderr) of one attempt: reads the payload's file from where
 * shipping stands a window at a time (never the whole file: a payload may print hundreds of MB),
 * records each window with one synced write before publishing its chunks, publishes them all at
 * once and awaits their acknowledgements together (a retry republishes the whole window, which
 * JetStream drops by message id). Calls are serialised, so the live tail and the final drain
 * never race on one stream.
 */
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import type { LogChunk, LogStream } from '../../shared/gen/pgc/v1/events.js';
import { truncationMarker } from '../runner/log-archive.js';
import { after, chunksOf, type PlannedWindow, planWindow } from './chunk-plan.js';
import { LogFile } from './log-file.js';
import type { LogShipStore, RecordedWindow } from './ship-store.js';

/** Publishes one chunk and resolves once JetStream acknowledged it. */
export type PublishChunk = (chunk: LogChunk) => Promise<void>;

export interface StreamShipperOptions {
  key: JobKey;
  stream: LogStream;
  file: string;
  capBytes: number;
  /** File bytes per chunk at most (the wire contract's limit). */
  chunkBytes: number;
  /** File bytes per window at most: the chunks recorded by one synced write and in flight. */
  windowBytes: number;
  store: LogShipStore;
  publish: PublishChunk;
}

export class StreamShipper {
  private last: RecordedWindow | undefined;
  private loaded = false;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly file: LogFile;

  constructor(private readonly options: StreamShipperOptions) {
    this.file = new LogFile(options.file);
  }

  /** A pump is running or waiting. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Resolves when no pump runs (failed ones included). */
  idle(): Promise<void> {
    return this.queue;
  }

  /** The stream's last chunk was acknowledged: nothing more will be shipped. */
  get finished(): boolean {
    return this.last?.eof === true && this.last.acked;
  }

  /**
   * Ships what the file holds now; with `final` (the job has ended) up to its end, closing the
   * stream with an eof chunk. Rejects when a publish fails; the next call resumes there.
   */
  pump(final: boolean): Promise<void> {
    return this.serialised(() => this.drain(final));
  }

  /** Closes the log file once no pump runs (a later pump opens it again). */
  release(): Promise<void> {
    return this.serialised(() => this.file.close());
  }

  private serialised(step: () => Promise<void>): Promise<void> {
    this.pending++;
    const run = this.queue.then(step).finally(() => this.pending--);
    this.queue = run.catch(() => {});
    return run;
  }

  private async drain(final: boolean): Promise<void> {
    const { key, stream, store } = this.options;
    if (!this.loaded) {
      this.last = await store.get(key, stream);
      this.loaded = true;
    }
    for (;;) {
      const last = this.last;
      if (last !== undefined && !last.acked) {
        await this.publish(last);
        await store.acked(key, stream, last);
        last.acked = true;
      }
      if (last?.eof) {
        // Nothing more will be read from this stream.
        await this.file.close();
        return;
      }
      const plan = planWindow({
        ...(last === undefined ? { nextSeq: 1, nextOffset: 0 } : after(last)),
        fileBytes: await this.file.size(),
        capBytes: this.options.capBytes,
        chunkBytes: this.options.chunkBytes,
        windowBytes: this.options.windowBytes,
        final,
      });
      if (plan === undefined) return;
      await store.planned(key, stream, plan);
      this.last = { ...plan, acked: false };
    }
  }

  /** Publishes every chunk of the window at once; resolves when all were acknowledged. */
  private async publish(window: PlannedWindow): Promise<void> {
    // The marker chunk sits at the cap (its offset), so a retry carries the same marker text
    // even if the agent's cap setting changed in between.
    const bytes = window.truncated
      ? Buffer.from(truncationMarker(window.offset))
      : await this.file.read(window.offset, window.length);
    const acks = chunksOf(window).map((chunk) => {
      const start = chunk.offset - window.offset;
      return this.options.publish({
        key: this.options.key,
        stream: this.options.stream,
        seq: chunk.seq,
        offset: chunk.offset,
        data: window.truncated ? bytes : bytes.subarray(start, start + chunk.length),
        truncated: chunk.truncated,
        eof: chunk.eof,
      });
    });
    // Every publish settles before this resolves or rejects: the window's buffer is reused by
    // the next read, and close() relies on no publish being in flight once the pump is idle.
    const settled = await Promise.allSettled(acks);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}
