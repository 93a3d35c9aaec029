import { describe, expect, it } from 'vitest';
import { dueHeartbeats, heartbeatCheckMs } from '../../../control/heartbeats.js';
import { type JobRecord, JobState } from '../../../control/job-record.js';

const rec = (pandaId: number, state: JobState, lastReportAtMs?: number): JobRecord => ({
  key: { pandaId, attemptNr: 1 },
  queue: 'Q',
  state,
  rank: 0,
  reported: false,
  ...(lastReportAtMs !== undefined ? { lastReportAtMs } : {}),
  createdAtMs: 0,
  updatedAtMs: 0,
  history: [],
});

describe('heartbeats', () => {
  it('are due for jobs an agent holds once the interval passed since their last update', () => {
    const records = [
      rec(1, JobState.RUNNING, 0),
      rec(2, JobState.RUNNING, 500),
      rec(3, JobState.ACCEPTED, 0),
      rec(4, JobState.FINISHING, 0),
      rec(5, JobState.DISPATCHED, 0),
      rec(6, JobState.QUEUED, 0),
      rec(7, JobState.FINISHED, 0),
    ];
    expect(dueHeartbeats(records, 1000, 1000).map((r) => r.key.pandaId)).toEqual([1, 3, 4]);
  });

  it('are looked for often enough to be at most a tenth late', () => {
    expect(heartbeatCheckMs(600_000)).toBe(10_000);
    expect(heartbeatCheckMs(2000)).toBe(200);
    expect(heartbeatCheckMs(10)).toBe(50);
  });
});
