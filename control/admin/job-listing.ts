/**
 * Admin.ListJobs: every record the store keeps (active and long reported), filtered, in attempt
 * order (PanDA id, then attempt), paged. The page token is the opaque position after the last
 * record returned, so paging is stable while records change state and new jobs arrive.
 */

import { ValidationError } from '../../shared/errors.js';
import {
  JobState,
  type ListJobsRequest,
  type ListJobsResponse,
} from '../../shared/gen/pgc/v1/admin.js';
import { validateId } from '../../shared/ids.js';
import { type JobRecord, recordId } from '../job-record.js';
import { jobSummary } from './job-views.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

const VALID_STATES = new Set(
  Object.values(JobState).filter((v): v is JobState => typeof v === 'number' && v > 0),
);

/** What a record must match; checked once, before the scan. */
export interface JobFilter {
  states: ReadonlySet<JobState>;
  endpointId?: string;
  queue?: string;
  taskId?: number;
}

export function parseFilter(request: ListJobsRequest): JobFilter {
  for (const s of request.states)
    if (!VALID_STATES.has(s)) throw new ValidationError(`unknown job state ${s}`);
  if (request.taskId < 0) throw new ValidationError('task_id must not be negative');
  return {
    states: new Set(request.states),
    ...(request.endpointId ? { endpointId: validateId('endpoint id', request.endpointId) } : {}),
    ...(request.queue ? { queue: validateId('queue', request.queue) } : {}),
    ...(request.taskId > 0 ? { taskId: request.taskId } : {}),
  };
}

export function matches(record: JobRecord, f: JobFilter): boolean {
  return (
    (f.states.size === 0 || f.states.has(record.state)) &&
    (f.endpointId === undefined || record.endpointId === f.endpointId) &&
    (f.queue === undefined || record.queue === f.queue) &&
    (f.taskId === undefined || record.spec?.taskId === f.taskId)
  );
}

export function encodePageToken(lastId: string): string {
  return Buffer.from(`a:${lastId}`).toString('base64url');
}

export function decodePageToken(token: string): string | undefined {
  if (token === '') return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!/^a:[0-9]{16}\.[0-9]{4}$/.test(text))
    throw new ValidationError(`page token ${JSON.stringify(token)} is not one this server gave`);
  return text.slice(2);
}

export function pageSize(requested: number): number {
  if (requested < 0) throw new ValidationError('page_size must not be negative');
  return Math.min(requested === 0 ? DEFAULT_PAGE_SIZE : requested, MAX_PAGE_SIZE);
}

/** One page: up to `size` matches after the token, and a token when more matches follow. */
export async function listJobs(
  request: ListJobsRequest,
  records: (after: string | undefined) => AsyncIterable<JobRecord>,
): Promise<ListJobsResponse> {
  const filter = parseFilter(request);
  const size = pageSize(request.pageSize);
  const after = decodePageToken(request.pageToken);
  const page: JobRecord[] = [];
  let more = false;
  for await (const record of records(after)) {
    if (!matches(record, filter)) continue;
    if (page.length === size) {
      more = true;
      break;
    }
    page.push(record);
  }
  const last = page.at(-1);
  return {
    jobs: page.map(jobSummary),
    nextPageToken: more && last ? encodePageToken(recordId(last.key)) : '',
  };
}
