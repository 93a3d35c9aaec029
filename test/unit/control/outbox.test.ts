import { describe, expect, it } from 'vitest';
import { type JobRecord, JobState } from '../../../control/job-record.js';
import { acquiredRecord } from '../../../control/job-transition.js';
import { buildUpdate, effectRows, enqueue, type OutboxEntry } from '../../../control/outbox.js';
import { FailureCode } from '../../../shared/errors.js';
import { KillReason } from '../../../shared/gen/pgc/v1/common.js';
import type { JobSpec } from '../../../shared/gen/pgc/v1/job.js';

const KEY = { pandaId: 7, attemptNr: 3 };
const SPEC: JobSpec = {
  key: KEY,
  queue: 'Q',
  payload: { $case: 'command', command: { command: 'true' } },
  sandbox: undefined,
  inputs: [],
  outputs: [],
  log: undefined,
  limits: { cores: 4, memoryMb: 0, walltimeS: 0, killGraceMs: 0 },
  env: {},
  taskId: 1,
  jobName: 'j',
  runDir: '',
};

const record = (patch: Partial<JobRecord> = {}): JobRecord => ({
  ...acquiredRecord(KEY, 'Q', SPEC, 0),
  state: JobState.RUNNING,
  endpointId: 'ep1',
  startedAtMs: Date.UTC(2026, 0, 1, 12, 0, 0),
  ...patch,
});

describe('outbox', () => {
  it('keeps one entry per attempt: newer updates replace pending ones, never a final one', () => {
    const first = enqueue(undefined, 'a', { job_id: 7, job_status: 'starting' }, false, 10);
    const second = enqueue(first, 'a', { job_id: 7, job_status: 'running' }, false, 20);
    expect(second).toMatchObject({
      version: 2,
      enqueuedAtMs: 10,
      update: { job_status: 'running' },
    });
    const final = enqueue(second, 'a', { job_id: 7, job_status: 'finished' }, true, 30);
    expect(final).toMatchObject({ version: 3, final: true });
    expect(enqueue(final, 'a', { job_id: 7, job_status: 'running' }, false, 40)).toBeUndefined();
  });

  it('builds the PanDA update of each report kind', () => {
    expect(buildUpdate(record(), 'starting', 'pgc-x', 0)).toMatchObject({
      job_id: 7,
      attempt_nr: 3,
      job_status: 'starting',
      site_name: 'Q',
      node: 'ep1',
      scheduler_id: 'pgc-x',
      core_count: 4,
    });
    expect(buildUpdate(record(), 'running', 'pgc-x', 0)).toMatchObject({
      job_status: 'running',
      start_time: '2026-01-01 12:00:00',
    });
    const failed = record({
      state: JobState.FAILED,
      failure: { code: FailureCode.LOST, message: 'endpoint lost', retryable: false },
    });
    expect(buildUpdate(failed, 'failed', 'pgc-x', 0)).toMatchObject({
      job_status: 'failed',
      pilot_error_code: 1008,
      pilot_error_diag: 'endpoint lost',
    });
  });

  it('writes one outbox entry and the kill commands for a transition’s effects', () => {
    const outbox = new Map<string, OutboxEntry>();
    const rows = effectRows(
      record(),
      [
        {
          type: 'kill',
          endpointId: 'ep1',
          reason: KillReason.FENCE,
          message: 'gone',
          commandId: 'kill.fence.x',
        },
        { type: 'report', what: 'running' },
        { type: 'report', what: 'failed' },
      ],
      (id) => outbox.get(id),
      'pgc-x',
      99,
    );
    expect(rows.entries).toHaveLength(1);
    expect(rows.entries[0]).toMatchObject({ final: true, version: 2 });
    expect(rows.commands).toEqual([
      {
        commandId: 'kill.fence.x',
        endpointId: 'ep1',
        createdAtMs: 99,
        command: {
          commandId: 'kill.fence.x',
          atMs: 99,
          body: {
            $case: 'kill',
            kill: { key: KEY, reason: KillReason.FENCE, message: 'gone', graceMs: 0 },
          },
        },
      },
    ]);
  });
});
