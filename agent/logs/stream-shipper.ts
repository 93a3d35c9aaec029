/**
 * Ships one stream (stdout or stderr) of one attempt: reads the payload's file from where
 * shipping stands, a chunk at a time (never the whole file: a payload may print hundreds of MB),
 * records each chunk before publishing it and publishes until JetStream acknowledges it. Calls
 * are serialised, so the live tail and the final drain never race on one stream.
 */
import { open, stat } from 'node:fs/promises';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import type { LogChunk, LogStream } from '../../shared/gen/pgc/v1/events.js';
import { truncationMarker } from '../runner/log-archive.js';
import { after, planChunk } from './chunk-plan.js';
import type { LogShipStore, RecordedChunk } from './ship-store.js';

/** Publishes one chunk and resolves once JetStream acknowledged it. */
export type PublishChunk = (chunk: LogChunk) => Promise<void>;

export interface StreamShipperOptions {
  key: JobKey;
  stream: LogStream;
  file: string;
  capBytes: number;
  maxChunkBytes: number;
  store: LogShipStore;
  publish: PublishChunk;
}

async function fileBytes(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Up to `length` bytes at `offset`; fewer only if the file shrank or vanished. */
async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  if (length === 0) return buffer;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return buffer.subarray(0, 0);
  }
  try {
    let got = 0;
    while (got < length) {
      const { bytesRead } = await handle.read(buffer, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buffer.subarray(0, got);
  } finally {
    await handle.close();
  }
}

export class StreamShipper {
  private last: RecordedChunk | undefined;
  private loaded = false;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly options: StreamShipperOptions) {}

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
    this.pending++;
    const run = this.queue.then(() => this.drain(final)).finally(() => this.pending--);
    this.queue = run.catch(() => {});
    return run;
  }

  private async drain(final: boolean): Promise<void> {
    const { key, stream, store, file } = this.options;
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
      if (last?.eof) return;
      const plan = planChunk({
        ...(last === undefined ? { nextSeq: 1, nextOffset: 0 } : after(last)),
        fileBytes: await fileBytes(file),
        capBytes: this.options.capBytes,
        maxChunkBytes: this.options.maxChunkBytes,
        final,
      });
      if (plan === undefined) return;
      await store.planned(key, stream, plan);
      this.last = { ...plan, acked: false };
    }
  }

  private async publish(chunk: RecordedChunk): Promise<void> {
    // The marker chunk sits at the cap (its offset), so a retry carries the same marker text
    // even if the agent's cap setting changed in between.
    const data = chunk.truncated
      ? Buffer.from(truncationMarker(chunk.offset))
      : await readRange(this.options.file, chunk.offset, chunk.length);
    await this.options.publish({
      key: this.options.key,
      stream: this.options.stream,
      seq: chunk.seq,
      offset: chunk.offset,
      data,
      truncated: chunk.truncated,
      eof: chunk.eof,
    });
  }
}
