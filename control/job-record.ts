/**
 * The control plane's record of one job attempt (DESIGN.md, Job lifecycle) and its stored form.
 * Records are keyed by attempt: a record, event or command of another attempt of the same PanDA
 * job is a different thing (docs/protocol.md, Identities). Protobuf members are kept typed in
 * memory and stored as their canonical JSON (LevelDB values are JSON).
 */
import { JobState } from '../shared/gen/pgc/v1/admin.js';
import { Failure, type JobKey, type KillReason } from '../shared/gen/pgc/v1/common.js';
import { JobResult, JobSpec, ResourceUsage } from '../shared/gen/pgc/v1/job.js';
import { attemptId } from '../shared/ids.js';

export { JobState };

/** One line of a record's history (HOUSE_STYLE: `{type, at, message}`). */
export interface HistoryEntry {
  type: string;
  at: number;
  message: string;
}

export interface JobRecord {
  key: JobKey;
  /** The PanDA queue the job was acquired for (its site_name in every update). */
  queue: string;
  state: JobState;
  /** Absent only for a job that could not be translated. */
  spec?: JobSpec;
  /** The endpoint the attempt is bound to, from dispatch until it is unbound or final. */
  endpointId?: string;
  dispatchId?: string;
  dispatchedAtMs?: number;
  /** The dispatch's ack did not come in time; the attempt stays bound (protocol.md §4). */
  ackMissing?: boolean;
  /** Highest event rank applied (shared/job-events.ts EVENT_RANK). */
  rank: number;
  startedAtMs?: number;
  usage?: ResourceUsage;
  result?: JobResult;
  failure?: Failure;
  /** A kill was requested and sent to the agent; set once. */
  killReason?: KillReason;
  /** PanDA acknowledged the final state (or needs none: cancelled before dispatch). */
  reported: boolean;
  /** When PanDA was last sent a progress update of this job (heartbeat clock). */
  lastReportAtMs?: number;
  createdAtMs: number;
  updatedAtMs: number;
  history: HistoryEntry[];
}

/** States in which the attempt is bound to an endpoint. */
export const BOUND_STATES: ReadonlySet<JobState> = new Set([
  JobState.DISPATCHED,
  JobState.ACCEPTED,
  JobState.STAGING,
  JobState.RUNNING,
  JobState.FINISHING,
]);

export function isFinal(state: JobState): boolean {
  return state === JobState.FINISHED || state === JobState.FAILED || state === JobState.CANCELLED;
}

/** A record the control plane still works on: not final, or final but not yet reported. */
export function isActive(record: Pick<JobRecord, 'state' | 'reported'>): boolean {
  return !isFinal(record.state) || !record.reported;
}

export function recordId(key: JobKey): string {
  return attemptId(key);
}

/** Slots a job takes on its endpoint: coreCount (spec.limits.cores), at least 1. */
export function coresOf(record: JobRecord): number {
  return Math.max(1, record.spec?.limits?.cores ?? 1);
}

/** Memory a job takes; 0 when the job states no limit. */
export function memoryOf(record: JobRecord): number {
  return Math.max(0, record.spec?.limits?.memoryMb ?? 0);
}

export function stateName(state: JobState): string {
  return (JobState[state] ?? String(state)).toLowerCase();
}

type StoredRecord = Omit<JobRecord, 'spec' | 'usage' | 'result' | 'failure'> & {
  spec?: unknown;
  usage?: unknown;
  result?: unknown;
  failure?: unknown;
};

export function toStored(record: JobRecord): StoredRecord {
  const { spec, usage, result, failure, ...rest } = record;
  return {
    ...rest,
    ...(spec ? { spec: JobSpec.toJSON(spec) } : {}),
    ...(usage ? { usage: ResourceUsage.toJSON(usage) } : {}),
    ...(result ? { result: JobResult.toJSON(result) } : {}),
    ...(failure ? { failure: Failure.toJSON(failure) } : {}),
  };
}

export function fromStored(stored: StoredRecord): JobRecord {
  const { spec, usage, result, failure, ...rest } = stored;
  return {
    ...rest,
    ...(spec ? { spec: JobSpec.fromJSON(spec) } : {}),
    ...(usage ? { usage: ResourceUsage.fromJSON(usage) } : {}),
    ...(result ? { result: JobResult.fromJSON(result) } : {}),
    ...(failure ? { failure: Failure.fromJSON(failure) } : {}),
  };
}
