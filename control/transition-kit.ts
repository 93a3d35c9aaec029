/**
 * The vocabulary of the job transition (job-transition.ts): the events a record can receive,
 * the effects a move asks for, and the small pure helpers every move uses.
 */
import { FailureCode } from '../shared/errors.js';
import {
  type Failure,
  type JobKey,
  KillReason,
  killReasonToJSON,
} from '../shared/gen/pgc/v1/common.js';
import type { JobEvent } from '../shared/gen/pgc/v1/events.js';
import type { JobSpec } from '../shared/gen/pgc/v1/job.js';
import { type JobRecord, JobState, recordId } from './job-record.js';

export type RecordEvent =
  | { type: 'dispatch'; at: number; endpointId: string; dispatchId: string }
  | { type: 'dispatch-unsent'; at: number; dispatchId: string }
  | { type: 'ack-accepted'; at: number; endpointId: string; dispatchId: string }
  | { type: 'ack-rejected'; at: number; endpointId: string; dispatchId: string; reason: string }
  | { type: 'ack-timeout'; at: number; dispatchId: string }
  | { type: 'not-held'; at: number; endpointId: string }
  | { type: 'agent-event'; at: number; event: JobEvent }
  | { type: 'lease-expired'; at: number; endpointId: string }
  | { type: 'kill-requested'; at: number; reason: KillReason; message: string }
  | { type: 'heartbeat-due'; at: number }
  | { type: 'undeliverable'; at: number; message: string }
  | { type: 'report-refused'; at: number; message: string }
  | { type: 'reported'; at: number; message: string };

/** Which PanDA update a report effect asks for (outbox.ts builds it). */
export type ReportKind = 'starting' | 'running' | 'final' | 'failed';

export type Effect =
  | { type: 'report'; what: ReportKind }
  | { type: 'kill'; endpointId: string; reason: KillReason; message: string; commandId: string };

export interface Transition {
  record: JobRecord;
  effects: Effect[];
  /** False: the event was ignored; `why` says why, and the record is unchanged. */
  applied: boolean;
  why?: string;
}

// A job's history stays bounded however long it runs.
const MAX_HISTORY = 200;

export const ignore = (record: JobRecord, why: string): Transition => ({
  record,
  effects: [],
  applied: false,
  why,
});

export const done = (record: JobRecord, effects: Effect[] = []): Transition => ({
  record,
  effects,
  applied: true,
});

/** The record in `state`, with the move appended to its history. */
export function move(
  record: JobRecord,
  state: JobState,
  at: number,
  type: string,
  message: string,
  patch: Partial<JobRecord> = {},
): JobRecord {
  const history = [...record.history, { type, at, message }].slice(-MAX_HISTORY);
  return { ...record, ...patch, state, updatedAtMs: at, history };
}

/** The command id of a kill: stable, so a repeated request is deduplicated by JetStream. */
export function killCommandId(
  reason: KillReason,
  endpointId: string,
  key: JobKey,
  suffix = '',
): string {
  const name = killReasonToJSON(reason).replace('KILL_REASON_', '').toLowerCase();
  return `kill.${name}.${endpointId}.${recordId(key)}${suffix}`;
}

/** A kill of the record's attempt at its endpoint. */
export function kill(record: JobRecord, reason: KillReason, message: string, suffix = ''): Effect {
  const endpointId = record.endpointId ?? '';
  const commandId = killCommandId(reason, endpointId, record.key, suffix);
  return { type: 'kill', endpointId, reason, message, commandId };
}

export const lost = (message: string): Failure => ({
  code: FailureCode.LOST,
  message,
  retryable: false,
});

/** The progress update PanDA gets for the record's state. */
export function progress(record: JobRecord): Effect[] {
  return [{ type: 'report', what: record.state >= JobState.RUNNING ? 'running' : 'starting' }];
}

/** Back to the queue (or cancelled, when PanDA killed the job meanwhile). */
export function unbind(record: JobRecord, at: number, message: string): Transition {
  const patch = {
    endpointId: undefined,
    dispatchId: undefined,
    dispatchedAtMs: undefined,
    ackMissing: undefined,
  };
  if (record.killReason !== undefined)
    return cancel(record, at, `${message}; it was killed meanwhile`, record.killReason, patch);
  return done(move(record, JobState.QUEUED, at, 'queued', message, patch));
}

/**
 * A job killed before any agent ran it is cancelled here. PanDA archived a job it killed itself,
 * so it needs no update; an operator's kill (issue #6) is news to PanDA and is reported as
 * failed with KILLED_BY_OPERATOR (1205, job_sub_status=cancelled, control/panda/report.ts).
 */
export function cancel(
  record: JobRecord,
  at: number,
  message: string,
  reason: KillReason,
  patch: Partial<JobRecord> = {},
): Transition {
  if (reason !== KillReason.OPERATOR)
    return done(
      move(record, JobState.CANCELLED, at, 'cancelled', message, {
        ...patch,
        killReason: reason,
        reported: true,
      }),
    );
  const failure = { code: FailureCode.KILLED_BY_OPERATOR, message, retryable: false };
  return done(
    move(record, JobState.CANCELLED, at, 'cancelled', message, {
      ...patch,
      killReason: reason,
      failure,
      reported: false,
    }),
    [{ type: 'report', what: 'failed' }],
  );
}

/** A fresh record for a job acquired from PanDA and translated. */
export function acquiredRecord(key: JobKey, queue: string, spec: JobSpec, at: number): JobRecord {
  return {
    key,
    queue,
    state: JobState.QUEUED,
    spec,
    rank: 0,
    reported: false,
    createdAtMs: at,
    updatedAtMs: at,
    history: [{ type: 'queued', at, message: `acquired from PanDA queue ${queue}` }],
  };
}

/** A job PanDA handed out that cannot run: failed at once, and PanDA is told. */
export function untranslatableRecord(
  key: JobKey,
  queue: string,
  failure: Failure,
  at: number,
): Transition {
  const record: JobRecord = {
    key,
    queue,
    state: JobState.FAILED,
    failure,
    rank: 0,
    reported: false,
    createdAtMs: at,
    updatedAtMs: at,
    history: [{ type: 'failed', at, message: failure.message }],
  };
  return done(record, [{ type: 'report', what: 'failed' }]);
}
