/**
 * Log chunking, pure: given where a stream's shipping stands and how large its file is now, the
 * next window to ship (several chunks recorded with one synced write), or nothing yet.
 * Wire contract (docs/protocol.md, log chunks):
 * - seq starts at 1 and grows by one per chunk; `offset` is where the chunk's bytes start in
 *   the payload's file, so chunk n+1 starts where chunk n ended;
 * - at most `chunkBytes` (64 KiB) of the file per chunk;
 * - past `capBytes` one chunk carries only the truncation marker (`truncated`), and it is the
 *   stream's last (`eof`): nothing after the cap is ever shipped;
 * - once the job has ended (`final`), the chunk that reaches the end of the file is the last;
 *   an empty `eof` chunk closes a stream whose bytes were all shipped already.
 * A window is cut into chunks by `chunksOf` alone (from its seq, offset, length and chunkBytes),
 * so a restarted agent that finds a window recorded publishes exactly the same chunks again.
 */

export interface WindowPlanInput {
  /** seq of the next chunk (1 for a stream never shipped). */
  nextSeq: number;
  /** File offset the next chunk starts at. */
  nextOffset: number;
  /** Size of the payload's file now (0 when it does not exist). */
  fileBytes: number;
  capBytes: number;
  /** Bytes of the file per chunk at most (the wire limit). */
  chunkBytes: number;
  /** Bytes of the file per window at most (bounds the shipper's memory). */
  windowBytes: number;
  /** The job has ended: the file will not grow any more. */
  final: boolean;
}

/** Consecutive chunks: `length` bytes of the file from `offset`, cut every `chunkBytes`. */
export interface PlannedWindow {
  /** seq of the window's first chunk. */
  seq: number;
  offset: number;
  /** Bytes of the file the window carries (0 for the marker chunk and an empty eof chunk). */
  length: number;
  chunkBytes: number;
  /** The window is the marker chunk alone. */
  truncated: boolean;
  /** The window's last chunk ends the stream. */
  eof: boolean;
}

export interface PlannedChunk {
  seq: number;
  offset: number;
  length: number;
  truncated: boolean;
  eof: boolean;
}

export function planWindow(input: WindowPlanInput): PlannedWindow | undefined {
  const { nextSeq: seq, nextOffset: offset, fileBytes, capBytes, chunkBytes, final } = input;
  const shippable = Math.min(fileBytes, capBytes);
  // Whole chunks only, so a window never ends in a short chunk while more bytes are there.
  const windowBytes = Math.max(chunkBytes, input.windowBytes - (input.windowBytes % chunkBytes));
  if (offset < shippable) {
    const length = Math.min(windowBytes, shippable - offset);
    const eof = final && offset + length >= fileBytes;
    return { seq, offset, length, chunkBytes, truncated: false, eof };
  }
  const empty = { seq, offset, length: 0, chunkBytes, eof: true };
  if (fileBytes > capBytes) return { ...empty, truncated: true };
  if (final) return { ...empty, truncated: false };
  return undefined;
}

/** How many chunks a window is cut into (an empty window is one chunk: eof or marker). */
export function chunkCount(window: PlannedWindow): number {
  return Math.max(1, Math.ceil(window.length / window.chunkBytes));
}

/** The window's chunks in seq order; only the last may be shorter, only it may be eof. */
export function chunksOf(window: PlannedWindow): PlannedChunk[] {
  const count = chunkCount(window);
  return Array.from({ length: count }, (_, i) => {
    const start = i * window.chunkBytes;
    const last = i === count - 1;
    return {
      seq: window.seq + i,
      offset: window.offset + start,
      length: Math.min(window.chunkBytes, window.length - start),
      truncated: window.truncated,
      eof: window.eof && last,
    };
  });
}

/** Where shipping continues after a window. */
export function after(window: PlannedWindow): { nextSeq: number; nextOffset: number } {
  return { nextSeq: window.seq + chunkCount(window), nextOffset: window.offset + window.length };
}
