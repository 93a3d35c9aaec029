/** A job record as the Admin service shows it (JobSummary for lists, JobDetail for one job). */
import type { HistoryEntry, JobDetail, JobSummary } from '../../shared/gen/pgc/v1/admin.js';
import type { JobRecord } from '../job-record.js';

export function jobSummary(record: JobRecord): JobSummary {
  return {
    key: record.key,
    queue: record.queue,
    endpointId: record.endpointId ?? '',
    state: record.state,
    reported: record.reported,
    taskId: record.spec?.taskId ?? 0,
    jobName: record.spec?.jobName ?? '',
    createdAtMs: record.createdAtMs,
    updatedAtMs: record.updatedAtMs,
    failure: record.failure,
  };
}

export function jobDetail(record: JobRecord): JobDetail {
  const history: HistoryEntry[] = record.history.map((h) => ({
    type: h.type,
    atMs: h.at,
    message: h.message,
  }));
  return { summary: jobSummary(record), spec: record.spec, history, result: record.result };
}
