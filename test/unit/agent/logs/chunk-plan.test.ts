import { describe, expect, it } from 'vitest';
import { after, type ChunkPlanInput, planChunk } from '../../../../agent/logs/chunk-plan.js';

const base: ChunkPlanInput = {
  nextSeq: 1,
  nextOffset: 0,
  fileBytes: 0,
  capBytes: 1000,
  maxChunkBytes: 100,
  final: false,
};

/** Plans chunks until the planner waits or the stream ends, like the shipper does. */
function drain(input: ChunkPlanInput) {
  const out = [];
  let at = { nextSeq: input.nextSeq, nextOffset: input.nextOffset };
  for (;;) {
    const chunk = planChunk({ ...input, ...at });
    if (chunk === undefined) return out;
    out.push(chunk);
    if (chunk.eof) return out;
    at = after(chunk);
  }
}

describe('log chunk planning', () => {
  it('waits while a running job has printed nothing new', () => {
    expect(planChunk(base)).toBeUndefined();
    expect(planChunk({ ...base, nextSeq: 4, nextOffset: 250, fileBytes: 250 })).toBeUndefined();
  });

  it('cuts what is there into chunks of at most maxChunkBytes, seq by one, offsets contiguous', () => {
    const chunks = drain({ ...base, fileBytes: 250 });
    expect(chunks).toEqual([
      { seq: 1, offset: 0, length: 100, truncated: false, eof: false },
      { seq: 2, offset: 100, length: 100, truncated: false, eof: false },
      { seq: 3, offset: 200, length: 50, truncated: false, eof: false },
    ]);
  });

  it('marks the chunk that reaches the end of an ended job eof', () => {
    expect(drain({ ...base, nextSeq: 3, nextOffset: 200, fileBytes: 250, final: true })).toEqual([
      { seq: 3, offset: 200, length: 50, truncated: false, eof: true },
    ]);
  });

  it('closes a stream shipped to its end, or never written, with an empty eof chunk', () => {
    expect(
      planChunk({ ...base, nextSeq: 4, nextOffset: 250, fileBytes: 250, final: true }),
    ).toEqual({ seq: 4, offset: 250, length: 0, truncated: false, eof: true });
    expect(planChunk({ ...base, final: true })).toEqual({
      seq: 1,
      offset: 0,
      length: 0,
      truncated: false,
      eof: true,
    });
  });

  it('ships up to the cap, then one marker chunk that ends the stream, running or not', () => {
    const chunks = drain({ ...base, nextSeq: 9, nextOffset: 850, fileBytes: 5000 });
    expect(chunks).toEqual([
      { seq: 9, offset: 850, length: 100, truncated: false, eof: false },
      { seq: 10, offset: 950, length: 50, truncated: false, eof: false },
      { seq: 11, offset: 1000, length: 0, truncated: true, eof: true },
    ]);
    expect(planChunk({ ...base, nextOffset: 1000, fileBytes: 1001, final: true })?.truncated).toBe(
      true,
    );
  });

  it('does not truncate a log of exactly the cap', () => {
    expect(drain({ ...base, nextOffset: 900, fileBytes: 1000, final: true }).at(-1)).toEqual({
      seq: 1,
      offset: 900,
      length: 100,
      truncated: false,
      eof: true,
    });
  });

  it('ends a file that shrank below what was shipped instead of going back', () => {
    expect(planChunk({ ...base, nextOffset: 300, fileBytes: 10 })).toBeUndefined();
    expect(planChunk({ ...base, nextOffset: 300, fileBytes: 10, final: true })).toMatchObject({
      offset: 300,
      length: 0,
      eof: true,
    });
  });
});
