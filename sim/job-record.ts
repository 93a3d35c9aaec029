/**
 * The record of a simulated PanDA job as the server keeps it (the jobsActive4/jobsArchived4 row),
 * and the small helpers every transition uses. The transitions themselves are in job-state.ts
 * (acquire, kill, set_command, Adder, watchdog) and pilot-update.ts (update_job rules).
 */
import type { PilotUpdate } from './pilot-update.js';
import type { SimTimeouts } from './timeouts.js';

export type JobStatus =
  | 'activated'
  | 'sent'
  | 'starting'
  | 'running'
  | 'holding'
  | 'transferring'
  | 'finished'
  | 'failed'
  | 'cancelled'
  | 'closed';

/** update_job accepts only these (srv pilot_api.py::VALID_JOB_STATES). */
export const PILOT_STATES = [
  'running',
  'failed',
  'finished',
  'holding',
  'starting',
  'transferring',
] as const;
export type PilotState = (typeof PILOT_STATES)[number];

/** Error codes of the job record (srv taskbuffer/ErrorCode.py, dataservice/ErrorCode.py). */
export const EC = {
  kill: 100, // taskBufferErrorCode EC_Kill
  adder: 200, // ddmErrorCode EC_Adder
  watcher: 100, // jobDispatcherErrorCode: lost heartbeat
  sendError: 102, // jobDispatcherErrorCode: sent, no reply from the pilot
  holding: 103,
  transferring: 104,
  timeout: 105,
  workerDone: 300, // taskBufferErrorCode EC_WorkerDone
  invalidBatchId: 1, // supErrorCode INVALID_BATCH_ID
} as const;

export interface JobEventRecord {
  type: string;
  atMs: number;
  message: string;
}

export interface SimJobState {
  readonly pandaId: number;
  readonly attemptNr: number;
  readonly prodSourceLabel: string;
  /** Outputs and the log, for the Adder; `logLfn` is one of them. */
  readonly outputLfns: readonly string[];
  readonly logLfn: string;
  readonly inputLfns: readonly string[];
  status: JobStatus;
  commandToPilot: string | null;
  jobSubStatus: string | null;
  /** What the pilot asked for while the job sits in holding waiting for the Adder. */
  requestedStatus: 'finished' | 'failed' | null;
  outputReport: string | null;
  pilotErrorCode: number | null;
  pilotErrorDiag: string | null;
  exeErrorCode: number | null;
  exeErrorDiag: string | null;
  transExitCode: number | null;
  ddmErrorCode: number | null;
  ddmErrorDiag: string | null;
  jobDispatcherErrorCode: number | null;
  jobDispatcherErrorDiag: string | null;
  taskBufferErrorCode: number | null;
  taskBufferErrorDiag: string | null;
  supErrorCode: number | null;
  supErrorDiag: string | null;
  /** Other columns a pilot reported (node → modificationHost, batchID, maxRSS, ...). */
  reported: Readonly<Record<string, string | number>>;
  creationTimeMs: number;
  modificationTimeMs: number;
  stateChangeTimeMs: number;
  startTimeMs: number | null;
  endTimeMs: number | null;
  events: readonly JobEventRecord[];
}

export type JobEvent =
  | {
      type: 'acquire';
      atMs: number;
      node: string | null;
      computingElement: string | null;
      schedulerId: string | null;
    }
  | { type: 'pilot-update'; atMs: number; update: PilotUpdate }
  | { type: 'kill'; atMs: number; code: number | null; user: string; jobSubStatus: string | null }
  | { type: 'set-command'; atMs: number; command: string }
  | { type: 'adder'; atMs: number }
  | { type: 'watchdog'; atMs: number; timeouts: SimTimeouts };

export type Outcome =
  | { type: 'none' }
  /** The reply `command` of update_job; `adder` = the Adder must finalise after its delay. */
  | { type: 'updated'; command: string; applied: boolean; adder: boolean }
  | { type: 'killed'; ok: boolean }
  | { type: 'command-set'; ok: boolean; message: string };

export interface Transition {
  job: SimJobState;
  outcome: Outcome;
}

/** Archived: gone from the active table, so updates answer tobekilled. */
export function isArchived(status: JobStatus): boolean {
  return status === 'finished' || status === 'cancelled' || status === 'closed';
}

export function isFinal(status: JobStatus): boolean {
  return isArchived(status) || status === 'failed';
}

// Events kept per job: a client looping on refused updates must not grow memory without bound.
const MAX_EVENTS = 1000;

function withEvent(events: readonly JobEventRecord[], event: JobEventRecord): JobEventRecord[] {
  const kept = events.length >= MAX_EVENTS ? events.slice(events.length - MAX_EVENTS + 1) : events;
  return [...kept, event];
}

/** Sets `status` with the bookkeeping every move needs, and records the move. */
export function moveTo(
  job: SimJobState,
  status: JobStatus,
  atMs: number,
  message: string,
): SimJobState {
  return {
    ...job,
    status,
    stateChangeTimeMs: status === job.status ? job.stateChangeTimeMs : atMs,
    modificationTimeMs: atMs,
    events: withEvent(job.events, { type: status, atMs, message }),
  };
}

export function note(job: SimJobState, type: string, atMs: number, message: string): SimJobState {
  return { ...job, events: withEvent(job.events, { type, atMs, message }) };
}
