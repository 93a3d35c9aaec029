import { describe, expect, it } from 'vitest';
import {
  decodePageToken,
  encodePageToken,
  listJobs,
  MAX_PAGE_SIZE,
  pageSize,
} from '../../../../control/admin/job-listing.js';
import { type JobRecord, JobState, recordId } from '../../../../control/job-record.js';
import { ValidationError } from '../../../../shared/errors.js';
import type { ListJobsRequest } from '../../../../shared/gen/pgc/v1/admin.js';

const record = (pandaId: number, state: JobState, queue = 'Q'): JobRecord => ({
  key: { pandaId, attemptNr: 1 },
  queue,
  state,
  rank: 0,
  reported: false,
  createdAtMs: 1,
  updatedAtMs: 1,
  history: [],
});

const all = [1, 2, 3, 4, 5, 6].map((id) =>
  record(id, id % 2 === 0 ? JobState.FINISHED : JobState.RUNNING, id > 4 ? 'R' : 'Q'),
);
async function* from(after: string | undefined): AsyncGenerator<JobRecord> {
  for (const r of all) if (after === undefined || recordId(r.key) > after) yield r;
}
const request = (over: Partial<ListJobsRequest>): ListJobsRequest => ({
  states: [],
  endpointId: '',
  queue: '',
  taskId: 0,
  pageSize: 0,
  pageToken: '',
  ...over,
});

describe('ListJobs paging', () => {
  it('pages in attempt order with a token only while more matches follow', async () => {
    const first = await listJobs(request({ pageSize: 2 }), from);
    expect(first.jobs.map((j) => j.key?.pandaId)).toEqual([1, 2]);
    const second = await listJobs(request({ pageSize: 2, pageToken: first.nextPageToken }), from);
    expect(second.jobs.map((j) => j.key?.pandaId)).toEqual([3, 4]);
    const third = await listJobs(request({ pageSize: 2, pageToken: second.nextPageToken }), from);
    expect(third.jobs.map((j) => j.key?.pandaId)).toEqual([5, 6]);
    expect(third.nextPageToken).toBe('');
  });

  it('filters by state and queue before paging', async () => {
    const page = await listJobs(request({ states: [JobState.RUNNING], queue: 'Q' }), from);
    expect(page.jobs.map((j) => j.key?.pandaId)).toEqual([1, 3]);
    expect(page.nextPageToken).toBe('');
  });

  it('refuses tokens it did not give, unknown states and bad sizes', async () => {
    expect(decodePageToken(encodePageToken('0000000000000012.0001'))).toBe('0000000000000012.0001');
    expect(() => decodePageToken('bogus')).toThrow(ValidationError);
    await expect(listJobs(request({ states: [42 as JobState] }), from)).rejects.toThrow(
      ValidationError,
    );
    expect(() => pageSize(-1)).toThrow(ValidationError);
    expect(pageSize(1_000_000)).toBe(MAX_PAGE_SIZE);
  });
});
