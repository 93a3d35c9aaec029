import { describe, expect, it } from 'vitest';
import {
  after,
  chunksOf,
  type PlannedChunk,
  planWindow,
  type WindowPlanInput,
} from '../../../../agent/logs/chunk-plan.js';

const base: WindowPlanInput = {
  nextSeq: 1,
  nextOffset: 0,
  fileBytes: 0,
  capBytes: 1000,
  chunkBytes: 100,
  windowBytes: 100,
  final: false,
};

/** Plans windows until the planner waits or the stream ends, like the shipper does; their chunks. */
function drain(input: WindowPlanInput): PlannedChunk[] {
  const out: PlannedChunk[] = [];
  let at = { nextSeq: input.nextSeq, nextOffset: input.nextOffset };
  for (;;) {
    const window = planWindow({ ...input, ...at });
    if (window === undefined) return out;
    out.push(...chunksOf(window));
    if (window.eof) return out;
    at = after(window);
  }
}

describe('log chunk planning', () => {
  it('waits while a running job has printed nothing new', () => {
    expect(planWindow(base)).toBeUndefined();
    expect(planWindow({ ...base, nextSeq: 4, nextOffset: 250, fileBytes: 250 })).toBeUndefined();
  });

  it('cuts what is there into chunks of at most chunkBytes, seq by one, offsets contiguous', () => {
    const chunks = drain({ ...base, fileBytes: 250 });
    expect(chunks).toEqual([
      { seq: 1, offset: 0, length: 100, truncated: false, eof: false },
      { seq: 2, offset: 100, length: 100, truncated: false, eof: false },
      { seq: 3, offset: 200, length: 50, truncated: false, eof: false },
    ]);
  });

  it('cuts the same chunks whatever the window size', () => {
    const input = { ...base, fileBytes: 950, final: true };
    const oneByOne = drain(input);
    for (const windowBytes of [100, 250, 300, 1000, 10_000])
      expect(drain({ ...input, windowBytes })).toEqual(oneByOne);
    // Grown in steps while the job runs: still the same chunks, only the last one short.
    const running = drain({ ...input, fileBytes: 420, final: false, windowBytes: 300 });
    expect(running.map((c) => c.length)).toEqual([100, 100, 100, 100, 20]);
  });

  it('puts several whole chunks in one window, and only the whole window advances', () => {
    const window = planWindow({
      ...base,
      nextSeq: 5,
      nextOffset: 40,
      fileBytes: 900,
      windowBytes: 350,
    });
    expect(window).toEqual({
      seq: 5,
      offset: 40,
      length: 300,
      chunkBytes: 100,
      truncated: false,
      eof: false,
    });
    if (window === undefined) return;
    expect(chunksOf(window).map((c) => [c.seq, c.offset, c.length])).toEqual([
      [5, 40, 100],
      [6, 140, 100],
      [7, 240, 100],
    ]);
    expect(after(window)).toEqual({ nextSeq: 8, nextOffset: 340 });
  });

  it('marks only the chunk that reaches the end of an ended job eof', () => {
    expect(drain({ ...base, nextSeq: 3, nextOffset: 200, fileBytes: 250, final: true })).toEqual([
      { seq: 3, offset: 200, length: 50, truncated: false, eof: true },
    ]);
    const chunks = drain({ ...base, fileBytes: 250, windowBytes: 1000, final: true });
    expect(chunks.map((c) => c.eof)).toEqual([false, false, true]);
  });

  it('closes a stream shipped to its end, or never written, with an empty eof chunk', () => {
    const closing = planWindow({
      ...base,
      nextSeq: 4,
      nextOffset: 250,
      fileBytes: 250,
      final: true,
    });
    expect(closing && chunksOf(closing)).toEqual([
      { seq: 4, offset: 250, length: 0, truncated: false, eof: true },
    ]);
    expect(drain({ ...base, final: true })).toEqual([
      { seq: 1, offset: 0, length: 0, truncated: false, eof: true },
    ]);
  });

  it('ships up to the cap, then one marker chunk that ends the stream, running or not', () => {
    const chunks = drain({ ...base, nextSeq: 9, nextOffset: 850, fileBytes: 5000 });
    expect(chunks).toEqual([
      { seq: 9, offset: 850, length: 100, truncated: false, eof: false },
      { seq: 10, offset: 950, length: 50, truncated: false, eof: false },
      { seq: 11, offset: 1000, length: 0, truncated: true, eof: true },
    ]);
    expect(
      drain({ ...base, nextSeq: 9, nextOffset: 850, fileBytes: 5000, windowBytes: 4000 }),
    ).toEqual(chunks);
    expect(planWindow({ ...base, nextOffset: 1000, fileBytes: 1001, final: true })?.truncated).toBe(
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
    expect(planWindow({ ...base, nextOffset: 300, fileBytes: 10 })).toBeUndefined();
    expect(planWindow({ ...base, nextOffset: 300, fileBytes: 10, final: true })).toMatchObject({
      offset: 300,
      length: 0,
      eof: true,
    });
  });
});
