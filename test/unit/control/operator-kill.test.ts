import { describe, expect, it } from 'vitest';
import { type JobRecord, JobState } from '../../../control/job-record.js';
import { transition } from '../../../control/job-transition.js';
import { FailureCode } from '../../../shared/errors.js';
import { KillReason } from '../../../shared/gen/pgc/v1/common.js';

const record = (state: JobState, patch: Partial<JobRecord> = {}): JobRecord => ({
  key: { pandaId: 101, attemptNr: 2 },
  queue: 'Q',
  state,
  rank: 0,
  reported: false,
  createdAtMs: 1,
  updatedAtMs: 1,
  history: [],
  ...patch,
});
const operatorKill = {
  type: 'kill-requested' as const,
  at: 5,
  reason: KillReason.OPERATOR,
  message: 'killed by an operator: test',
};

describe('operator kills (issue #6)', () => {
  it('cancel a queued job and report it to PanDA as killed by the operator', () => {
    const t = transition(record(JobState.QUEUED), operatorKill);
    expect(t.record.state).toBe(JobState.CANCELLED);
    expect(t.record.reported).toBe(false);
    expect(t.record.failure?.code).toBe(FailureCode.KILLED_BY_OPERATOR);
    expect(t.effects).toEqual([{ type: 'report', what: 'failed' }]);
  });

  it('cancel a job whose dispatch the agent never took, and report that too', () => {
    const dispatched = record(JobState.DISPATCHED, {
      endpointId: 'ep1',
      dispatchId: 'd1',
      killReason: KillReason.OPERATOR,
    });
    const t = transition(dispatched, {
      type: 'ack-rejected',
      at: 6,
      endpointId: 'ep1',
      dispatchId: 'd1',
      reason: 'full',
    });
    expect(t.record.state).toBe(JobState.CANCELLED);
    expect(t.effects).toEqual([{ type: 'report', what: 'failed' }]);
  });

  it('leave PanDA kills of queued jobs unreported (PanDA archived them already)', () => {
    const t = transition(record(JobState.QUEUED), { ...operatorKill, reason: KillReason.PANDA });
    expect(t.record.state).toBe(JobState.CANCELLED);
    expect(t.record.reported).toBe(true);
    expect(t.effects).toEqual([]);
  });
});
