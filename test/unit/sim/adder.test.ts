import { describe, expect, it } from 'vitest';
import { type AdderInput, BAD_REPORT_DIAG, checkOutputReport, pyInt } from '../../../sim/adder.js';
import { PyFloat } from '../../../sim/py-value.js';

const base: AdderInput = {
  requestedStatus: 'finished',
  report: '',
  outputLfns: ['out.dat', 'job.log.tgz'],
  logLfn: 'job.log.tgz',
  inputLfns: ['in.dat'],
  pilotErrorCode: null,
  transExitCode: null,
  taskBufferErrorCode: null,
};
const entry = (extra: Record<string, unknown> = {}) => ({
  guid: 'g',
  fsize: 5,
  adler32: '0000abcd',
  ...extra,
});
const report = (entries: Record<string, unknown>): string => JSON.stringify(entries);
const check = (over: Partial<AdderInput>) => checkOutputReport({ ...base, ...over });

describe('checkOutputReport (the Adder)', () => {
  it('accepts fsize plus adler32 or md5sum for every output and the log', () => {
    expect(
      check({
        report: report({
          'out.dat': entry(),
          'job.log.tgz': entry({ adler32: undefined, md5sum: 'f'.repeat(32) }),
        }),
      }),
    ).toMatchObject({ status: 'finished', ddmErrorCode: null });
    // int() accepts numeric strings; input LFNs need no checksum.
    expect(
      check({
        report: report({
          'out.dat': entry({ fsize: '12' }),
          'job.log.tgz': entry(),
          'in.dat': { guid: 'x' },
        }),
      }).status,
    ).toBe('finished');
  });

  it('fails with ddmErrorCode 200 on a bad or incomplete report', () => {
    const bad = { status: 'failed', ddmErrorCode: 200, ddmErrorDiag: BAD_REPORT_DIAG };
    for (const r of [
      '',
      'not json',
      '[1]',
      report({ 'out.dat': entry({ adler32: 'xyz' }), 'job.log.tgz': entry() }), // checksum not 8 hex
      report({ 'out.dat': entry({ adler32: undefined, md5sum: 'abc' }), 'job.log.tgz': entry() }),
      report({ 'out.dat': entry({ fsize: undefined }), 'job.log.tgz': entry() }),
      report({ 'out.dat': entry({ fsize: '1.5' }), 'job.log.tgz': entry() }),
      report({ 'out.dat': entry({ guid: undefined }), 'job.log.tgz': entry() }),
      report({ 'out.dat': 'x', 'job.log.tgz': entry() }),
    ]) {
      expect(check({ report: r }), r).toMatchObject(bad);
    }
    expect(check({ report: report({ 'job.log.tgz': entry() }) })).toMatchObject({
      ddmErrorCode: 200,
      ddmErrorDiag: 'expected output out.dat is missing in pilot JSON',
    });
    expect(
      check({
        report: report({ 'out.dat': entry(), 'job.log.tgz': entry(), 'other.dat': entry() }),
      }),
    ).toMatchObject({
      ddmErrorCode: 200,
      ddmErrorDiag: 'pilot produced other.dat inconsistently with jobdef',
    });
  });

  it('for a failed job only needs the log, and validates what is present', () => {
    expect(
      check({ requestedStatus: 'failed', report: report({ 'job.log.tgz': entry() }) }),
    ).toMatchObject({
      status: 'failed',
      ddmErrorCode: null,
    });
    expect(
      check({
        requestedStatus: 'failed',
        report: report({ 'job.log.tgz': entry({ fsize: null }) }),
      }),
    ).toMatchObject({
      ddmErrorCode: 200,
    });
  });

  it('blames the pilot, not the Adder, when a pilot or trf error explains a broken report', () => {
    expect(check({ requestedStatus: 'failed', report: '', pilotErrorCode: 1144 })).toMatchObject({
      status: 'failed',
      ddmErrorCode: null,
    });
    expect(check({ report: '', transExitCode: 1 })).toMatchObject({
      status: 'failed',
      ddmErrorCode: null,
    });
  });

  it('passes jobs without outputs', () => {
    expect(check({ outputLfns: [], report: '' })).toMatchObject({ status: 'finished' });
  });

  it('converts like Python int()', () => {
    expect(pyInt(' 1_000 ')).toBe(1000);
    expect(pyInt(new PyFloat(2.9))).toBe(2);
    expect(pyInt(true)).toBe(1);
    expect(() => pyInt('2.0')).toThrow();
    expect(() => pyInt(null)).toThrow();
  });
});
