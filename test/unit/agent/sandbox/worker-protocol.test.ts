import { describe, expect, it } from 'vitest';
import {
  parseWorkerRequest,
  parseWorkerResult,
} from '../../../../agent/sandbox/worker-protocol.js';

const limits = {
  maxEntries: 1,
  maxDepth: 1,
  maxPathBytes: 1,
  maxComponentBytes: 1,
  maxExtractedBytes: 1,
  maxMetaEntryBytes: 1,
  maxStreamBytes: 1,
};

describe('worker protocol', () => {
  it('round-trips requests and rejects malformed ones', () => {
    const extract = { op: 'extract', target: '/t', limits, freeze: true } as const;
    expect(parseWorkerRequest(JSON.stringify(extract))).toEqual(extract);
    expect(parseWorkerRequest(JSON.stringify({ op: 'freeze', target: '/t' }))).toEqual({
      op: 'freeze',
      target: '/t',
    });
    expect(parseWorkerRequest(undefined)).toBeUndefined();
    expect(parseWorkerRequest('{')).toBeUndefined();
    expect(
      parseWorkerRequest(JSON.stringify({ ...extract, limits: { ...limits, maxEntries: 0 } })),
    ).toBeUndefined();
    expect(parseWorkerRequest(JSON.stringify({ op: 'rm', target: '/' }))).toBeUndefined();
  });

  it('reads the last line of stdout as the result', () => {
    const stats = { entries: 3, files: 2, dirs: 1, bytes: 10, diskBytes: 8192 };
    expect(parseWorkerResult(`ready\n${JSON.stringify({ ok: true, stats })}\n`)).toEqual({
      ok: true,
      stats,
    });
    expect(
      parseWorkerResult(JSON.stringify({ ok: false, code: 'UNSAFE_ARCHIVE', message: 'm' })),
    ).toEqual({
      ok: false,
      code: 'UNSAFE_ARCHIVE',
      message: 'm',
    });
  });

  it('refuses results it does not understand', () => {
    expect(parseWorkerResult('')).toBeUndefined();
    expect(parseWorkerResult('ready\n')).toBeUndefined(); // died after loading
    expect(parseWorkerResult('Segmentation fault')).toBeUndefined();
    expect(
      parseWorkerResult(JSON.stringify({ ok: false, code: 'WHATEVER', message: 'm' })),
    ).toBeUndefined();
    expect(
      parseWorkerResult(JSON.stringify({ ok: true, stats: { files: 'many' } })),
    ).toBeUndefined();
  });
});
