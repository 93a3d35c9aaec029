import { describe, expect, it } from 'vitest';
import {
  LineTail,
  LogAssembler,
  tailStart,
  wantedStreams,
} from '../../../../control/admin/log-assembly.js';
import { type LogChunk, LogStream } from '../../../../shared/gen/pgc/v1/events.js';

const key = { pandaId: 7, attemptNr: 1 };
const chunk = (stream: LogStream, seq: number, text: string, eof = false): LogChunk => ({
  key,
  stream,
  seq,
  offset: (seq - 1) * 10,
  data: Buffer.from(text),
  truncated: false,
  eof,
});
const text = (chunks: LogChunk[]): string =>
  chunks.map((c) => Buffer.from(c.data).toString()).join('');
const { STDOUT, STDERR } = LogStream;

describe('LogAssembler', () => {
  it('releases each stream in seq order, holding chunks that come before their predecessors', () => {
    const a = new LogAssembler([STDOUT, STDERR]);
    expect(a.accept(chunk(STDOUT, 2, 'b'), 0)).toEqual([]);
    expect(text(a.accept(chunk(STDERR, 1, 'E'), 0))).toBe('E');
    expect(text(a.accept(chunk(STDOUT, 1, 'a'), 0))).toBe('ab');
    expect(text(a.accept(chunk(STDOUT, 3, 'c'), 0))).toBe('c');
  });

  it('drops duplicates by (stream, seq), released or held', () => {
    const a = new LogAssembler([STDOUT]);
    expect(text(a.accept(chunk(STDOUT, 1, 'a'), 0))).toBe('a');
    expect(a.accept(chunk(STDOUT, 1, 'a'), 0)).toEqual([]);
    expect(a.accept(chunk(STDOUT, 3, 'c'), 0)).toEqual([]);
    expect(a.accept(chunk(STDOUT, 3, 'c'), 0)).toEqual([]);
    expect(text(a.accept(chunk(STDOUT, 2, 'b'), 0))).toBe('bc');
  });

  it('drops streams not asked for', () => {
    const a = new LogAssembler(wantedStreams(STDERR));
    expect(a.accept(chunk(STDOUT, 1, 'a'), 0)).toEqual([]);
    expect(text(a.accept(chunk(STDERR, 1, 'E'), 0))).toBe('E');
  });

  it('skips a gap only once it has waited long enough, or when told to release everything', () => {
    const a = new LogAssembler([STDOUT]);
    a.accept(chunk(STDOUT, 3, 'c'), 1000);
    expect(a.releaseHeld(2000, 2000)).toEqual([]);
    expect(text(a.releaseHeld(3000, 2000))).toBe('c');
    a.accept(chunk(STDOUT, 6, 'f'), 3000);
    a.accept(chunk(STDOUT, 5, 'e'), 3000);
    expect(text(a.releaseHeld(3000))).toBe('ef');
    expect(a.accept(chunk(STDOUT, 4, 'd'), 3000)).toEqual([]);
  });

  it('is complete once every wanted stream released its eof chunk', () => {
    const a = new LogAssembler([STDOUT, STDERR]);
    a.accept(chunk(STDOUT, 1, 'a', true), 0);
    expect(a.complete).toBe(false);
    a.accept(chunk(STDERR, 2, 'x', true), 0);
    expect(a.complete).toBe(false);
    a.accept(chunk(STDERR, 1, 'w'), 0);
    expect(a.complete).toBe(true);
  });
});

describe('tail', () => {
  it('finds where the last N lines start, a final line without newline counting as one', () => {
    const data = Buffer.from('one\ntwo\nthree\n');
    expect(data.subarray(tailStart(data, 2)).toString()).toBe('two\nthree\n');
    expect(data.subarray(tailStart(data, 5)).toString()).toBe('one\ntwo\nthree\n');
    const open = Buffer.from('one\ntwo\nthr');
    expect(open.subarray(tailStart(open, 1)).toString()).toBe('thr');
  });

  it('keeps the last lines across chunks and says where in the file they start', () => {
    const tail = new LineTail(2);
    tail.push({ ...chunk(STDOUT, 1, 'l1\nl2\nl'), offset: 0 });
    tail.push({ ...chunk(STDOUT, 2, '3\nl4\n', true), offset: 8 });
    const out = tail.chunk();
    expect(Buffer.from(out?.data ?? []).toString()).toBe('l3\nl4\n');
    expect(out?.offset).toBe(6);
    expect(out?.seq).toBe(2);
    expect(out?.eof).toBe(true);
  });
});
