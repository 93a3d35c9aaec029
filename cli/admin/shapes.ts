/**
 * The `--json` shapes of the admin verbs: plain objects with stable names, lowercase state
 * words and milliseconds since the epoch, documented in docs/protocol.md ("pgc --json"). They are
 * built here from the Admin messages, never by dumping protobuf JSON, so a proto change does not
 * silently change what scripts read.
 */
import {
  type EndpointInfo,
  EndpointStatus,
  type JobDetail,
  JobState,
  type JobSummary,
  KillResult,
} from '../../shared/gen/pgc/v1/admin.js';
import { type Failure, FailureCode, type Location } from '../../shared/gen/pgc/v1/common.js';
import type { JobResult, JobSpec, OutputInfo } from '../../shared/gen/pgc/v1/job.js';

const lower = (name: string | undefined): string => (name ?? 'unknown').toLowerCase();

export const stateWord = (s: JobState): string => lower(JobState[s]);
export const STATE_WORDS = Object.values(JobState)
  .filter((v): v is JobState => typeof v === 'number' && v > 0)
  .map(stateWord);

export function parseStateWord(word: string): JobState | undefined {
  const state = JobState[word.toUpperCase() as keyof typeof JobState];
  return typeof state === 'number' && state > 0 ? state : undefined;
}

export const endpointStatusWord = (s: EndpointStatus): string => lower(EndpointStatus[s]);

export const killResultWord = (r: KillResult): string => lower(KillResult[r]).replace(/_/g, '-');

function failureJson(f: Failure | undefined) {
  return f === undefined
    ? null
    : { code: FailureCode[f.code] ?? String(f.code), message: f.message };
}

export function endpointJson(e: EndpointInfo) {
  return {
    endpointId: e.endpointId,
    status: endpointStatusWord(e.status),
    drained: e.drained,
    queues: e.queues,
    slotsUsed: e.capacity?.slotsUsed ?? 0,
    slotsTotal: e.capacity?.slotsTotal ?? 0,
    memoryMbUsed: e.capacity?.memoryMbUsed ?? 0,
    memoryMbTotal: e.capacity?.memoryMbTotal ?? 0,
    runningJobs: e.runningJobs,
    lastSeenMs: e.lastSeenMs === 0 ? null : e.lastSeenMs,
    agentVersion: e.agentVersion === '' ? null : e.agentVersion,
  };
}

export function jobSummaryJson(j: JobSummary) {
  return {
    pandaId: j.key?.pandaId ?? 0,
    attemptNr: j.key?.attemptNr ?? 0,
    state: stateWord(j.state),
    reported: j.reported,
    queue: j.queue,
    endpointId: j.endpointId === '' ? null : j.endpointId,
    taskId: j.taskId === 0 ? null : j.taskId,
    jobName: j.jobName,
    createdAtMs: j.createdAtMs,
    updatedAtMs: j.updatedAtMs,
    failure: failureJson(j.failure),
  };
}

export function locationJson(l: Location | undefined) {
  const where = l?.where;
  if (where?.$case === 'object') return { bucket: where.object.bucket, name: where.object.name };
  if (where?.$case === 'path') return { path: where.path };
  return null;
}

export function fileJson(f: OutputInfo, kind: 'output' | 'log') {
  return {
    kind,
    lfn: f.lfn,
    localName: f.localName,
    sizeBytes: f.sizeBytes,
    adler32: f.adler32,
    sha256: f.sha256,
    guid: f.guid,
    location: locationJson(f.location),
  };
}

function specJson(s: JobSpec) {
  const p = s.payload;
  return {
    payload:
      p?.$case === 'command'
        ? { kind: 'command' as const, command: p.command.command }
        : p?.$case === 'function'
          ? {
              kind: 'function' as const,
              funcName: p.function.funcName,
              argsJson: p.function.argsJson,
            }
          : null,
    sandboxUrl: s.sandbox?.url ?? null,
    inputs: s.inputs.map((i) => ({ lfn: i.lfn, scope: i.scope, sizeBytes: i.sizeBytes })),
    outputs: s.outputs.map((o) => ({ localName: o.localName, lfn: o.lfn, scope: o.scope })),
    logLfn: s.log?.lfn ?? null,
    limits: {
      cores: s.limits?.cores ?? 1,
      memoryMb: s.limits?.memoryMb ?? 0,
      walltimeS: s.limits?.walltimeS ?? 0,
    },
  };
}

function resultJson(r: JobResult) {
  return {
    exitCode: r.exitCode ?? null,
    signal: r.signal === '' ? null : r.signal,
    failure: failureJson(r.failure),
    startedAtMs: r.startedAtMs || null,
    endedAtMs: r.endedAtMs || null,
    usage: r.usage ?? null,
    errorDiag: r.errorDiag,
    returnValueJson: r.returnValueJson === '' ? null : r.returnValueJson,
  };
}

/** Every file of a result: the outputs, then the log tarball. */
export function resultFiles(r: JobResult | undefined) {
  if (r === undefined) return [];
  return [
    ...r.outputs.map((o) => fileJson(o, 'output')),
    ...(r.log ? [fileJson(r.log, 'log')] : []),
  ];
}

export function jobDetailJson(d: JobDetail) {
  return {
    ...(d.summary ? jobSummaryJson(d.summary) : {}),
    spec: d.spec ? specJson(d.spec) : null,
    history: d.history.map((h) => ({ type: h.type, atMs: h.atMs, message: h.message })),
    result: d.result ? resultJson(d.result) : null,
    files: resultFiles(d.result),
  };
}

export function killOutcomeJson(o: { pandaId: number; result: KillResult; message: string }) {
  return { pandaId: o.pandaId, result: killResultWord(o.result), message: o.message };
}
