/**
 * Puts a job's log chunks back in order, pure (no I/O). Chunks arrive from JetStream as the agent
 * published them: seq starts at 1 per stream with no gaps, but a retried publish can repeat a
 * chunk, and stdout and stderr interleave in any order (docs/protocol.md, Log chunks). Per stream
 * a chunk is released only when every lower seq was; duplicates are dropped by (stream, seq).
 * A gap that never fills (the stream's retention dropped old chunks, or an agent died mid-publish)
 * is skipped when the caller says so (`releaseHeld`), so a reader never waits forever.
 */
import { type LogChunk, LogStream } from '../../shared/gen/pgc/v1/events.js';

interface StreamState {
  /** The next seq to release. */
  next: number;
  /** Chunks above `next`, waiting for the gap below them to fill, and since when. */
  held: Map<number, LogChunk>;
  heldSinceMs: number | undefined;
  eof: boolean;
}

export class LogAssembler {
  private readonly streams = new Map<LogStream, StreamState>();

  /** `wanted`: the streams to keep (others are dropped). */
  constructor(readonly wanted: readonly LogStream[]) {
    for (const s of wanted)
      this.streams.set(s, { next: 1, held: new Map(), heldSinceMs: undefined, eof: false });
  }

  /** Takes one chunk; returns the chunks now releasable, in order. */
  accept(chunk: LogChunk, nowMs: number): LogChunk[] {
    const state = this.streams.get(chunk.stream);
    if (state === undefined || chunk.seq < state.next || state.held.has(chunk.seq)) return [];
    state.held.set(chunk.seq, chunk);
    state.heldSinceMs ??= nowMs;
    return this.release(state);
  }

  /** Releases held chunks across gaps that have waited `maxWaitMs` (all of them with 0). */
  releaseHeld(nowMs: number, maxWaitMs = 0): LogChunk[] {
    const out: LogChunk[] = [];
    for (const state of this.streams.values()) {
      if (state.heldSinceMs === undefined || nowMs - state.heldSinceMs < maxWaitMs) continue;
      // Skip the gap: the lowest held chunk is next.
      state.next = Math.min(...state.held.keys());
      out.push(...this.release(state));
    }
    return out;
  }

  /** Has every wanted stream released its eof chunk? */
  get complete(): boolean {
    return [...this.streams.values()].every((s) => s.eof);
  }

  private release(state: StreamState): LogChunk[] {
    const out: LogChunk[] = [];
    for (let chunk = state.held.get(state.next); chunk; chunk = state.held.get(state.next)) {
      state.held.delete(state.next);
      state.next++;
      if (chunk.eof) state.eof = true;
      out.push(chunk);
    }
    state.heldSinceMs = state.held.size === 0 ? undefined : state.heldSinceMs;
    return out;
  }
}

/** The streams a request asks for: UNSPECIFIED means both. */
export function wantedStreams(stream: LogStream): LogStream[] {
  return stream === LogStream.STDOUT || stream === LogStream.STDERR
    ? [stream]
    : [LogStream.STDOUT, LogStream.STDERR];
}

const NEWLINE = 0x0a;

/**
 * The last `lines` lines of one stream, kept while its chunks go by (`tail -n`): a final line
 * without a newline counts as a line. Holds only the tail, however long the log.
 */
export class LineTail {
  private tail: Buffer = Buffer.alloc(0);
  /** Byte offset in the stream's file where `tail` starts. */
  private startOffset = 0;
  private last: LogChunk | undefined;

  constructor(private readonly lines: number) {}

  push(chunk: LogChunk): void {
    if (this.tail.length === 0) this.startOffset = chunk.offset;
    this.tail = Buffer.concat([this.tail, chunk.data]);
    this.last = chunk;
    const cut = tailStart(this.tail, this.lines);
    if (cut > 0) {
      this.tail = this.tail.subarray(cut);
      this.startOffset += cut;
    }
  }

  /** The tail as one chunk (seq, truncation and eof of the last chunk seen); none if empty. */
  chunk(): LogChunk | undefined {
    if (this.last === undefined) return undefined;
    return { ...this.last, offset: this.startOffset, data: Buffer.from(this.tail) };
  }
}

/** Where the last `lines` lines of `data` start. */
export function tailStart(data: Uint8Array, lines: number): number {
  let end = data.length;
  if (end > 0 && data[end - 1] === NEWLINE) end--;
  let found = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (data[i] === NEWLINE && ++found === lines) return i + 1;
  }
  return 0;
}
