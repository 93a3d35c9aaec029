import { describe, expect, it } from 'vitest';
import { PilotErrorCode, pilotErrorCode } from '../../../../control/panda/error-codes.js';
import {
  failedUpdate,
  finalUpdate,
  MAX_RETURN_VALUE_BYTES,
  pandaTime,
  progressUpdate,
} from '../../../../control/panda/report.js';
import { translatePandaJob } from '../../../../control/panda/translate.js';
import { FailureCode } from '../../../../shared/errors.js';
import { KillReason } from '../../../../shared/gen/pgc/v1/common.js';
import type { JobResult } from '../../../../shared/gen/pgc/v1/job.js';
import { JOB_MAIN1 } from '../../../fixtures/panda/jobs-2023.js';

const spec = translatePandaJob(JOB_MAIN1, {
  queue: 'BNL_Funcx_Test',
  newGuid: () => 'f00d0000-0000-4000-8000-000000000001',
});
const ctx = { siteName: 'BNL_Funcx_Test', node: 'bnl-gc-01', schedulerId: 'pgc-control' };
const started = Date.UTC(2026, 10, 26, 12, 0, 0);

function result(overrides: Partial<JobResult> = {}): JobResult {
  return {
    key: spec.key,
    exitCode: 0,
    signal: '',
    failure: undefined,
    killReason: KillReason.UNSPECIFIED,
    usage: { cpuTimeMs: 61_400, wallTimeMs: 90_000, maxRssBytes: 512 * 1024 * 1024 },
    returnValueJson: '"success"',
    outputs: [
      {
        localName: 'out.dat',
        lfn: 'user.czhang.33455999._000001.out.dat',
        sizeBytes: 7,
        adler32: '0a0b0c0d',
        sha256: 's',
        guid: '',
        location: {
          where: {
            $case: 'object',
            object: { bucket: 'pgc-obj-ep1', name: 'user.czhang.33455999._000001.out.dat' },
          },
        },
      },
      {
        localName: 'output.tar.gz',
        lfn: 'user.czhang.33455999._000001.output.tar.gz',
        sizeBytes: 2048,
        adler32: '00000abc',
        sha256: 's',
        guid: '',
        location: { where: { $case: 'path', path: '/shared/out/user.czhang/x' } },
      },
    ],
    log: {
      localName: 'log.tgz',
      lfn: 'user.czhang.train.log.33455999.000001.log.tgz',
      sizeBytes: 300,
      adler32: 'deadbeef',
      sha256: 's',
      guid: '',
      location: undefined,
    },
    startedAtMs: started,
    endedAtMs: started + 90_000,
    errorDiag: '',
    ...overrides,
  };
}

describe('finalUpdate', () => {
  it('reports a finished job with times, resources, the return value and a complete output report', () => {
    const update = finalUpdate(spec, result(), ctx);
    expect(update).toMatchObject({
      job_id: 5_000_000_202,
      attempt_nr: 2,
      job_status: 'finished',
      site_name: 'BNL_Funcx_Test',
      node: 'bnl-gc-01',
      scheduler_id: 'pgc-control',
      core_count: 1,
      start_time: '2026-11-26 12:00:00',
      end_time: '2026-11-26 12:01:30',
      cpu_consumption_time: 61,
      cpu_consumption_unit: 's',
      max_rss: 524288,
      trans_exit_code: 0,
      n_input_files: 1,
      meta_data: '{"return_value":"success"}',
    });
    expect(update.pilot_error_code).toBeUndefined();
    expect(JSON.parse(update.job_output_report ?? '')).toEqual({
      'user.czhang.33455999._000001.out.dat': {
        guid: 'f00d0000-0000-4000-8000-000000000001',
        fsize: 7,
        adler32: '0a0b0c0d',
        surl: 'nats-object://pgc-obj-ep1/user.czhang.33455999._000001.out.dat',
      },
      'user.czhang.33455999._000001.output.tar.gz': {
        guid: 'f00d0000-0000-4000-8000-000000000001',
        fsize: 2048,
        adler32: '00000abc',
        surl: 'file:///shared/out/user.czhang/x',
      },
      'user.czhang.train.log.33455999.000001.log.tgz': {
        guid: '8d5c0f1e-0000-4000-8000-00000000b002',
        fsize: 300,
        adler32: 'deadbeef',
      },
    });
  });

  it('reports a failed job with the pilot code of its reason and the tail of its diagnostic', () => {
    const traceback = `Traceback (most recent call last):\n${'  File "x.py", line 1\n'.repeat(40)}ZeroDivisionError: division by zero`;
    const update = finalUpdate(
      spec,
      result({
        exitCode: 1,
        failure: {
          code: FailureCode.NONZERO_EXIT,
          message: 'payload exited with code 1',
          retryable: false,
        },
        errorDiag: traceback,
      }),
      ctx,
    );
    expect(update.job_status).toBe('failed');
    expect(update.pilot_error_code).toBe(1305);
    expect(update.pilot_error_diag).toBe('payload exited with code 1');
    expect(update.exe_error_code).toBe(1);
    expect(update.exe_error_diag?.length).toBe(500);
    expect(update.exe_error_diag?.endsWith('ZeroDivisionError: division by zero')).toBe(true);
    expect(update.job_sub_status).toBeUndefined();
  });

  it('reports kills as failed with job_sub_status=cancelled and 1144 or 1205', () => {
    const byPanda = finalUpdate(
      spec,
      result({
        exitCode: undefined,
        signal: 'SIGTERM',
        failure: {
          code: FailureCode.KILLED_BY_PANDA,
          message: 'killed: tobekilled',
          retryable: false,
        },
      }),
      ctx,
    );
    expect([byPanda.job_status, byPanda.job_sub_status, byPanda.pilot_error_code]).toEqual([
      'failed',
      'cancelled',
      1144,
    ]);
    expect(byPanda.trans_exit_code).toBeUndefined();
    const byOperator = finalUpdate(
      spec,
      result({
        failure: {
          code: FailureCode.KILLED_BY_OPERATOR,
          message: 'killed by alice',
          retryable: false,
        },
      }),
      ctx,
    );
    expect([byOperator.job_sub_status, byOperator.pilot_error_code]).toEqual(['cancelled', 1205]);
  });

  it('caps the return value at 64 KiB and keeps meta_data valid JSON', () => {
    const big = JSON.stringify('x'.repeat(MAX_RETURN_VALUE_BYTES));
    expect(
      JSON.parse(finalUpdate(spec, result({ returnValueJson: big }), ctx).meta_data ?? ''),
    ).toEqual({
      return_value_truncated: true,
      return_value_bytes: MAX_RETURN_VALUE_BYTES + 2,
    });
    expect(
      JSON.parse(
        finalUpdate(spec, result({ returnValueJson: "{'repr': 1}" }), ctx).meta_data ?? '',
      ),
    ).toEqual({ return_value: "{'repr': 1}" });
    expect(finalUpdate(spec, result({ returnValueJson: '' }), ctx).meta_data).toBeUndefined();
  });
});

describe('other updates', () => {
  it('progress updates carry the state, start time and resource use', () => {
    expect(
      progressUpdate(spec, 'running', ctx, {
        startedAtMs: started,
        usage: { cpuTimeMs: 1500, wallTimeMs: 2000, maxRssBytes: 0 },
      }),
    ).toEqual({
      job_id: 5_000_000_202,
      attempt_nr: 2,
      site_name: 'BNL_Funcx_Test',
      node: 'bnl-gc-01',
      scheduler_id: 'pgc-control',
      core_count: 1,
      job_status: 'running',
      start_time: '2026-11-26 12:00:00',
      cpu_consumption_time: 2,
      cpu_consumption_unit: 's',
    });
  });

  it('a job that never ran is failed with its reason', () => {
    expect(
      failedUpdate(
        7,
        1,
        {
          code: FailureCode.BAD_JOB,
          message: 'cannot run PanDA job 7: jobPars: unknown option --x',
          retryable: false,
        },
        ctx,
        started,
      ),
    ).toEqual({
      job_id: 7,
      attempt_nr: 1,
      site_name: 'BNL_Funcx_Test',
      scheduler_id: 'pgc-control',
      job_status: 'failed',
      end_time: '2026-11-26 12:00:00',
      pilot_error_code: 1008,
      pilot_error_diag: 'cannot run PanDA job 7: jobPars: unknown option --x',
    });
  });

  it('maps every job failure reason of the issue to its pilot code', () => {
    const expected: Array<[FailureCode, number]> = [
      [FailureCode.INPUT_MISSING, 1099],
      [FailureCode.INPUT_CHECKSUM, 1171],
      [FailureCode.OUTPUT_MISSING, 1165],
      [FailureCode.WALLTIME, 1213],
      [FailureCode.MEMORY, 1235],
      [FailureCode.LOG_TOO_LARGE, 1106],
      [FailureCode.NONZERO_EXIT, 1305],
      [FailureCode.SANDBOX_UNAVAILABLE, 1246],
      [FailureCode.KILLED_BY_PANDA, 1144],
      [FailureCode.KILLED_BY_OPERATOR, 1205],
    ];
    for (const [code, pilot] of expected)
      expect(pilotErrorCode(code), FailureCode[code]).toBe(pilot);
    expect(pilotErrorCode(FailureCode.NONZERO_EXIT, 'SIGSEGV')).toBe(1203);
    expect(pilotErrorCode(FailureCode.NONZERO_EXIT, 'SIGPWR')).toBe(PilotErrorCode.KILLSIGNAL);
    expect(pilotErrorCode(FailureCode.INTERNAL)).toBe(PilotErrorCode.GENERALERROR);
  });

  it('formats times as PanDA does', () => {
    expect(pandaTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02 03:04:05');
  });
});
