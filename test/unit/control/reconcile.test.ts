import { describe, expect, it } from 'vitest';
import { type JobRecord, JobState, recordId } from '../../../control/job-record.js';
import { planReconcile } from '../../../control/reconcile.js';
import { LocalJobState } from '../../../shared/gen/pgc/v1/gateway.js';

function rec(pandaId: number, state: JobState, patch: Partial<JobRecord> = {}): JobRecord {
  return {
    key: { pandaId, attemptNr: 1 },
    queue: 'Q',
    state,
    rank: 0,
    reported: false,
    endpointId: 'ep1',
    createdAtMs: 0,
    updatedAtMs: 0,
    history: [],
    ...patch,
  };
}

const held = (pandaId: number, state = LocalJobState.RUNNING, attemptNr = 1) => ({
  key: { pandaId, attemptNr },
  state,
});

function plan(
  records: JobRecord[],
  attempts: ReturnType<typeof held>[],
  mode: 'hello' | 'reconcile',
) {
  const byId = new Map(records.map((r) => [recordId(r.key), r]));
  const bound = records.filter((r) => r.endpointId === 'ep1');
  const p = planReconcile('ep1', attempts, bound, (id) => byId.get(id), mode);
  const ids = (keys: { pandaId: number }[]) => keys.map((k) => k.pandaId).sort();
  return { requeue: ids(p.requeue), lost: ids(p.lost), fence: ids(p.fence) };
}

describe('planReconcile', () => {
  it('queues lost dispatches again on Hello, and on Reconcile only those whose ack went missing', () => {
    const records = [
      rec(1, JobState.DISPATCHED),
      rec(2, JobState.DISPATCHED, { ackMissing: true }),
    ];
    expect(plan(records, [], 'hello').requeue).toEqual([1, 2]);
    expect(plan(records, [], 'reconcile').requeue).toEqual([2]);
    expect(
      plan(records, [held(1, LocalJobState.ACCEPTED), held(2, LocalJobState.ACCEPTED)], 'hello')
        .requeue,
    ).toEqual([]);
  });

  it('marks accepted…finishing attempts the agent does not hold as lost', () => {
    const records = [
      rec(1, JobState.ACCEPTED),
      rec(2, JobState.STAGING),
      rec(3, JobState.RUNNING),
      rec(4, JobState.FINISHING),
      rec(5, JobState.RUNNING),
    ];
    expect(plan(records, [held(5)], 'reconcile').lost).toEqual([1, 2, 3, 4]);
  });

  it('fences active attempts that are unknown, final, or bound elsewhere — not finished ones', () => {
    const records = [
      rec(2, JobState.FAILED),
      rec(3, JobState.RUNNING, { endpointId: 'ep2' }),
      rec(4, JobState.QUEUED, { endpointId: undefined }),
      rec(5, JobState.RUNNING),
    ];
    const attempts = [
      held(1, LocalJobState.ACCEPTED),
      held(2, LocalJobState.STAGING),
      held(3),
      held(4),
      held(5),
      held(6, LocalJobState.EXITED_UNPUBLISHED),
      held(7, LocalJobState.PUBLISHED),
      held(5, LocalJobState.RUNNING, 2), // another attempt of job 5
    ];
    const p = plan(records, attempts, 'hello');
    expect(p.fence).toEqual([1, 2, 3, 4, 5]);
    expect(p.lost).toEqual([]);
  });
});
