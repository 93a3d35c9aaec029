/**
 * Log chunking, pure: given where a stream's shipping stands and how large its file is now, the
 * next chunk to ship, or nothing yet. Wire contract (docs/protocol.md, log chunks):
 * - seq starts at 1 and grows by one per chunk; `offset` is where the chunk's bytes start in
 *   the payload's file, so chunk n+1 starts where chunk n ended;
 * - at most `maxChunkBytes` of the file per chunk;
 * - past `capBytes` one chunk carries only the truncation marker (`truncated`), and it is the
 *   stream's last (`eof`): nothing after the cap is ever shipped;
 * - once the job has ended (`final`), the chunk that reaches the end of the file is the last;
 *   an empty `eof` chunk closes a stream whose bytes were all shipped already.
 */

export interface ChunkPlanInput {
  /** seq of the next chunk (1 for a stream never shipped). */
  nextSeq: number;
  /** File offset the next chunk starts at. */
  nextOffset: number;
  /** Size of the payload's file now (0 when it does not exist). */
  fileBytes: number;
  capBytes: number;
  maxChunkBytes: number;
  /** The job has ended: the file will not grow any more. */
  final: boolean;
}

export interface PlannedChunk {
  seq: number;
  offset: number;
  /** Bytes of the file the chunk carries (0 for the marker chunk and an empty eof chunk). */
  length: number;
  truncated: boolean;
  eof: boolean;
}

export function planChunk(input: ChunkPlanInput): PlannedChunk | undefined {
  const { nextSeq: seq, nextOffset: offset, fileBytes, capBytes, final } = input;
  const shippable = Math.min(fileBytes, capBytes);
  if (offset < shippable) {
    const length = Math.min(input.maxChunkBytes, shippable - offset);
    const end = offset + length;
    return { seq, offset, length, truncated: false, eof: final && end >= fileBytes };
  }
  if (fileBytes > capBytes) return { seq, offset, length: 0, truncated: true, eof: true };
  if (final) return { seq, offset, length: 0, truncated: false, eof: true };
  return undefined;
}

/** Where shipping continues after a chunk. */
export function after(chunk: PlannedChunk): { nextSeq: number; nextOffset: number } {
  return { nextSeq: chunk.seq + 1, nextOffset: chunk.offset + chunk.length };
}
