/**
 * What update_job does to a job (srv api/v1/pilot_api.py::update_job and
 * db_proxy_mods/job_complex_module.py::updateJobStatus, reference §2.3), as pure functions:
 * which columns an update writes, and the transition rules that decide whether it applies and
 * which `command` goes back.
 */
import {
  EC,
  isArchived,
  type JobStatus,
  moveTo,
  note,
  type PilotState,
  type SimJobState,
  type Transition,
} from './job-record.js';
import { formatPandaTime, parsePandaTime } from './panda-time.js';
import { PyFloat, type PyValue } from './py-value.js';

export interface PilotUpdate {
  status: PilotState;
  attemptNr: number | null;
  /** DB columns the server writes, after its casts and cuts (startTime/endTime in ms). */
  columns: Readonly<Record<string, string | number>>;
  outputReport: string;
}

type Cast = (v: PyValue) => string | number;

function num(v: PyValue): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PyFloat) return v.value;
  return typeof v === 'number' ? v : Number.NaN;
}
const int: Cast = (v) => Math.trunc(num(v));
const float: Cast = (v) => num(v);
const str: Cast = (v) => String(v);
const cut =
  (n: number): Cast =>
  (v) =>
    String(v).slice(0, n);

/** (column, update_job argument, cast) in the order of srv pilot_api.py::update_job `fields`. */
const FIELDS: readonly [string, string, Cast][] = [
  ['cpuConsumptionTime', 'cpu_consumption_time', int],
  ['cpuConsumptionUnit', 'cpu_consumption_unit', str],
  ['cpu_architecture_level', 'cpu_architecture_level', cut(20)],
  ['modificationHost', 'node', cut(128)],
  ['transExitCode', 'trans_exit_code', int],
  ['pilotErrorCode', 'pilot_error_code', int],
  ['pilotErrorDiag', 'pilot_error_diag', cut(500)],
  ['jobMetrics', 'job_metrics', cut(500)],
  ['schedulerID', 'scheduler_id', str],
  ['pilotID', 'pilot_id', cut(200)],
  ['batchID', 'batch_id', cut(80)],
  ['exeErrorCode', 'exe_error_code', int],
  ['exeErrorDiag', 'exe_error_diag', cut(500)],
  ['cpuConversion', 'cpu_conversion_factor', float],
  ['pilotTiming', 'pilot_timing', str],
  ['nEvents', 'n_events', int],
  ['nInputFiles', 'n_input_files', int],
  ['jobSubStatus', 'job_sub_status', str],
  ['actualCoreCount', 'core_count', int],
  ['meanCoreCount', 'mean_core_count', float],
  ['maxRSS', 'max_rss', int],
  ['maxVMEM', 'max_vmem', int],
  ['maxSWAP', 'max_swap', int],
  ['maxPSS', 'max_pss', int],
  ['avgRSS', 'avg_rss', int],
  ['avgVMEM', 'avg_vmem', int],
  ['avgSWAP', 'avg_swap', int],
  ['avgPSS', 'avg_pss', int],
  ['corruptedFiles', 'corrupted_files', str],
  ['grid', 'grid', str],
  ['sourceSite', 'source_site', str],
  ['destinationSite', 'destination_site', str],
];

// Byte counters are stored in kB and capped at 10 digits.
const BYTE_FIELDS: readonly [string, string][] = [
  ['totRCHAR', 'tot_rchar'],
  ['totWCHAR', 'tot_wchar'],
  ['totRBYTES', 'tot_rbytes'],
  ['totWBYTES', 'tot_wbytes'],
  ['rateRCHAR', 'rate_rchar'],
  ['rateWCHAR', 'rate_wchar'],
  ['rateRBYTES', 'rate_rbytes'],
  ['rateWBYTES', 'rate_wbytes'],
];

/** The `param` map of update_job: only given, non-empty values; bad times are dropped. */
export function updateColumns(args: ReadonlyMap<string, PyValue>): Record<string, string | number> {
  const columns: Record<string, string | number> = {};
  for (const [column, arg, cast] of FIELDS) {
    const v = args.get(arg);
    if (v === undefined || v === null || v === '') continue;
    const value = cast(v);
    if (typeof value === 'number' && Number.isNaN(value)) continue;
    columns[column] = value;
  }
  for (const [column, arg] of BYTE_FIELDS) {
    const v = args.get(arg);
    if (v === undefined || v === null) continue;
    columns[column] = Math.min(10 ** 10 - 1, Math.trunc(num(v)) / 1024);
  }
  for (const [column, arg] of [
    ['startTime', 'start_time'],
    ['endTime', 'end_time'],
  ] as const) {
    const v = args.get(arg);
    const ms = typeof v === 'string' ? parsePandaTime(v) : undefined;
    if (ms !== undefined) columns[column] = ms;
  }
  return columns;
}

const TYPED_COLUMNS = [
  'pilotErrorCode',
  'pilotErrorDiag',
  'exeErrorCode',
  'exeErrorDiag',
  'transExitCode',
  'jobSubStatus',
  'startTime',
  'endTime',
];

function writeColumns(job: SimJobState, columns: PilotUpdate['columns']): SimJobState {
  const reported = { ...job.reported };
  for (const [k, v] of Object.entries(columns)) {
    if (!TYPED_COLUMNS.includes(k)) reported[k] = v;
  }
  const numberOr = (k: string, old: number | null): number | null =>
    typeof columns[k] === 'number' ? columns[k] : old;
  const stringOr = (k: string, old: string | null): string | null =>
    typeof columns[k] === 'string' ? columns[k] : old;
  return {
    ...job,
    reported,
    pilotErrorCode: numberOr('pilotErrorCode', job.pilotErrorCode),
    pilotErrorDiag: stringOr('pilotErrorDiag', job.pilotErrorDiag),
    exeErrorCode: numberOr('exeErrorCode', job.exeErrorCode),
    exeErrorDiag: stringOr('exeErrorDiag', job.exeErrorDiag),
    transExitCode: numberOr('transExitCode', job.transExitCode),
    jobSubStatus: stringOr('jobSubStatus', job.jobSubStatus),
    startTimeMs: numberOr('startTime', job.startTimeMs),
    endTimeMs: numberOr('endTime', job.endTimeMs),
  };
}

/** Two batch IDs that are not both numeric must match (srv updateJobStatus, INVALID_BATCH_ID). */
function batchIdMismatch(job: SimJobState, columns: PilotUpdate['columns']): string | undefined {
  const old = job.reported.batchID;
  const next = columns.batchID;
  if (typeof old !== 'string' || typeof next !== 'string' || old === '' || next === '')
    return undefined;
  const numeric = /^\d+\.*\d+$/;
  return old !== next && !numeric.test(old) && !numeric.test(next) ? next : undefined;
}

const empty = (s: string | null): boolean => s === null || s === '';

export function applyPilotUpdate(job: SimJobState, update: PilotUpdate, atMs: number): Transition {
  const reply = (j: SimJobState, command: string, applied = false, adder = false): Transition => ({
    job: j,
    outcome: { type: 'updated', command, applied, adder },
  });
  // Not in the active table (archived, or another attempt): the pilot must stop.
  if (isArchived(job.status) || (update.attemptNr !== null && update.attemptNr !== job.attemptNr)) {
    const why = isArchived(job.status)
      ? `job is ${job.status}`
      : `attempt ${update.attemptNr} is not the job's attempt ${job.attemptNr}`;
    return reply(note(job, 'update-refused', atMs, `${update.status}: ${why}`), 'tobekilled');
  }
  const requested = update.status;
  const isFinalReport = requested === 'finished' || requested === 'failed';
  // finished/failed are stored as holding; the Adder sets the real final state later.
  const target: JobStatus = isFinalReport ? 'holding' : requested;
  // jobDispatcherErrorDiag: cleared by a final report, set by holding/transferring reports.
  const diag: { set: boolean; value: string | null } = isFinalReport
    ? { set: true, value: null }
    : requested === 'holding' || requested === 'transferring'
      ? { set: true, value: `set to ${requested} by the pilot at ${formatPandaTime(atMs)}` }
      : { set: false, value: null };
  const command = job.commandToPilot ?? 'NULL';
  const old = job.status;
  const ignore = (why: string): Transition =>
    reply(note(job, 'update-ignored', atMs, `${requested} in ${old}: ${why}`), command);
  const already = (why: string): Transition =>
    reply(note(job, 'update-ignored', atMs, `${requested} in ${old}: ${why}`), 'alreadydone');

  if (old === 'failed' && ['holding', 'transferring', 'starting', 'running'].includes(target)) {
    return already('the job already failed');
  }
  if (old === 'transferring' && target === 'holding' && empty(job.jobDispatcherErrorDiag)) {
    return already('already transferring');
  }
  if (old === 'holding' && target === 'holding' && (!diag.set || !empty(diag.value))) {
    return ignore('heartbeat of a job in holding');
  }
  if (old === 'holding' && target === 'holding' && empty(job.jobDispatcherErrorDiag)) {
    return already('already set to holding by the final heartbeat');
  }
  if ((old === 'holding' || old === 'transferring') && target === 'starting') {
    return ignore('no way back to starting');
  }
  if (old === 'holding' && target === 'running') return ignore('no way back to running');
  const badBatchId = batchIdMismatch(job, update.columns);
  if (badBatchId !== undefined) {
    const marked = {
      ...job,
      supErrorCode: EC.invalidBatchId,
      supErrorDiag: `got an update request with invalid batchID=${badBatchId}`,
    };
    return reply(note(marked, 'update-refused', atMs, 'batchID mismatch'), 'tobekilled');
  }
  // The UPDATE has `AND NOT jobStatus='holding'` for transferring: it matches no row.
  if (target === 'transferring' && old === 'holding')
    return ignore('transferring never overwrites holding');

  const next: JobStatus = old === 'running' && target === 'starting' ? 'running' : target;
  let updated = writeColumns(job, update.columns);
  if (diag.set) updated = { ...updated, jobDispatcherErrorDiag: diag.value };
  if (next === old && !isFinalReport) {
    // A heartbeat: the clock moves, the history does not grow.
    updated = { ...updated, modificationTimeMs: atMs };
  } else {
    updated = moveTo(updated, next, atMs, `pilot reported ${requested}`);
    if (next === old) updated = { ...updated, stateChangeTimeMs: atMs };
  }
  const entersHolding = next === 'holding' || (next === 'transferring' && old === 'running');
  if (entersHolding && job.endTimeMs === null && update.columns.endTime === undefined) {
    updated = { ...updated, endTimeMs: atMs };
  }
  if (
    (old === 'sent' || old === 'starting') &&
    next === 'running' &&
    update.columns.startTime === undefined
  ) {
    updated = { ...updated, startTimeMs: atMs };
  }
  if (isFinalReport) {
    updated = { ...updated, requestedStatus: requested, outputReport: update.outputReport };
  }
  return reply(updated, command, true, isFinalReport);
}
