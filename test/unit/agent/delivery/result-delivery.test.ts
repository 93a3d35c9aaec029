import { describe, expect, it } from 'vitest';
import { objectDigest } from '../../../../agent/delivery/object-uploader.js';
import { withoutLostFiles } from '../../../../agent/delivery/result-delivery.js';
import { FailureCode } from '../../../../shared/errors.js';
import type { JobResult, OutputInfo } from '../../../../shared/gen/pgc/v1/job.js';

const file = (lfn: string, name?: string): OutputInfo => ({
  localName: lfn,
  lfn,
  sizeBytes: 1,
  adler32: '00000001',
  sha256: '',
  guid: '',
  location: name
    ? { where: { $case: 'object', object: { bucket: 'b', name } } }
    : { where: { $case: 'path', path: `/out/${lfn}` } },
});

const result = (failure?: JobResult['failure']): JobResult => ({
  key: { pandaId: 1, attemptNr: 1 },
  signal: '',
  failure,
  killReason: 0,
  returnValueJson: '',
  outputs: [file('a', 'out/a'), file('b', 'out/b'), file('big')],
  log: file('log.tgz', 'log/log.tgz'),
  startedAtMs: 0,
  endedAtMs: 0,
  errorDiag: '',
});

describe('a result with files that can never be stored', () => {
  it('drops their locations, keeps the others, and fails with STAGE_OUT_FAILED', () => {
    const amended = withoutLostFiles(result(), new Map([['out/b', 'out/b: gone']]));
    expect(amended.outputs.map((o) => o.location?.where?.$case)).toEqual([
      'object',
      undefined,
      'path',
    ]);
    expect(amended.log?.location?.where?.$case).toBe('object');
    expect(amended.failure).toMatchObject({ code: FailureCode.STAGE_OUT_FAILED, retryable: false });
    expect(amended.failure?.message).toContain('out/b: gone');
  });

  it('keeps the failure a job already had', () => {
    const failure = { code: FailureCode.NONZERO_EXIT, message: 'exit 1', retryable: false };
    const amended = withoutLostFiles(result(failure), new Map([['log/log.tgz', 'gone']]));
    expect(amended.failure).toEqual(failure);
    expect(amended.log?.location).toBeUndefined();
  });
});

describe('object digests', () => {
  it('are written as the object store writes them: SHA-256= and padded base64url', () => {
    const emptySha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(objectDigest(emptySha)).toBe('SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=');
  });
});
