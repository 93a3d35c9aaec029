/**
 * JobResult → PanDA update (reference/panda-protocol.md §2.1, §5.1): the final state with error
 * codes and diagnostics, resource figures, the function's return value as meta_data and the
 * output report PanDA's Adder checks (every output and the log with guid, fsize and adler32).
 * Pure, so what PanDA receives can be tested without a server.
 */
import type { Failure } from '../../shared/gen/pgc/v1/common.js';
import type { JobResult, JobSpec, OutputInfo, ResourceUsage } from '../../shared/gen/pgc/v1/job.js';
import { isKill, pilotErrorCode } from './error-codes.js';
import type { UpdateJobParams } from './wire-types.js';

export interface ReportContext {
  siteName: string;
  /** The endpoint that ran the job (PanDA's modificationHost). */
  node?: string;
  /** Identifies this control plane to PanDA, like Harvester's `harvester-<id>`. */
  schedulerId?: string;
}

/** PanDA truncates diagnostics at 500 characters; we cut first so the end we keep is ours. */
const DIAG_CHARS = 500;
/** meta_data carries at most this much of a function's return value. */
export const MAX_RETURN_VALUE_BYTES = 64 * 1024;

/** "%Y-%m-%d %H:%M:%S" in UTC, the server's time format. */
export function pandaTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

const cut = (text: string): string => (text.length > DIAG_CHARS ? text.slice(0, DIAG_CHARS) : text);
/** For stderr-like diagnostics the end matters (the exception's last line). */
const cutTail = (text: string): string =>
  text.length > DIAG_CHARS ? text.slice(-DIAG_CHARS) : text;

function base(
  spec: JobSpec,
  ctx: ReportContext,
): Pick<
  UpdateJobParams,
  'job_id' | 'attempt_nr' | 'site_name' | 'node' | 'scheduler_id' | 'core_count'
> {
  return {
    job_id: spec.key?.pandaId ?? 0,
    attempt_nr: spec.key?.attemptNr ?? 0,
    site_name: ctx.siteName,
    ...(ctx.node ? { node: ctx.node } : {}),
    ...(ctx.schedulerId ? { scheduler_id: ctx.schedulerId } : {}),
    core_count: spec.limits?.cores ?? 1,
  };
}

/** A heartbeat or the first report of a job (`starting` once accepted, then `running`). */
export function progressUpdate(
  spec: JobSpec,
  state: 'starting' | 'running',
  ctx: ReportContext,
  progress: { startedAtMs?: number; usage?: ResourceUsage } = {},
): UpdateJobParams {
  return {
    ...base(spec, ctx),
    job_status: state,
    ...(progress.startedAtMs ? { start_time: pandaTime(progress.startedAtMs) } : {}),
    ...usageFields(progress.usage),
  };
}

function usageFields(usage: ResourceUsage | undefined): Partial<UpdateJobParams> {
  if (usage === undefined) return {};
  return {
    cpu_consumption_time: Math.round(usage.cpuTimeMs / 1000),
    cpu_consumption_unit: 's',
    // PanDA keeps memory figures in kB (prmon's unit).
    ...(usage.maxRssBytes > 0 ? { max_rss: Math.round(usage.maxRssBytes / 1024) } : {}),
  };
}

function failureFields(failure: Failure, signal = ''): Partial<UpdateJobParams> {
  return {
    pilot_error_code: pilotErrorCode(failure.code, signal),
    pilot_error_diag: cut(failure.message),
    ...(isKill(failure.code) ? { job_sub_status: 'cancelled' } : {}),
  };
}

/** The function's return value wrapped as a job report; oversized values are replaced by a note. */
function metaData(returnValueJson: string): string | undefined {
  if (returnValueJson === '') return undefined;
  const size = Buffer.byteLength(returnValueJson);
  if (size > MAX_RETURN_VALUE_BYTES)
    return JSON.stringify({ return_value_truncated: true, return_value_bytes: size });
  try {
    return JSON.stringify({ return_value: JSON.parse(returnValueJson) });
  } catch {
    return JSON.stringify({ return_value: returnValueJson });
  }
}

function surl(file: OutputInfo): string | undefined {
  const where = file.location?.where;
  if (where?.$case === 'object') return `nats-object://${where.object.bucket}/${where.object.name}`;
  if (where?.$case === 'path') return `file://${where.path}`;
  return undefined;
}

/** The output report: every produced output and the log, keyed by LFN (§5.1). */
export function outputReport(spec: JobSpec, result: JobResult): string {
  const guidOf = new Map(spec.outputs.map((o) => [o.lfn, o.guid]));
  if (spec.log) guidOf.set(spec.log.lfn, spec.log.guid);
  const report: Record<string, Record<string, string | number>> = {};
  for (const file of [...result.outputs, ...(result.log ? [result.log] : [])]) {
    const guid = guidOf.get(file.lfn) || file.guid;
    const url = surl(file);
    report[file.lfn] = {
      guid,
      fsize: file.sizeBytes,
      adler32: file.adler32,
      ...(url ? { surl: url } : {}),
    };
  }
  return JSON.stringify(report);
}

/** The final update for a job the agent ran: finished, or failed with its reason. */
export function finalUpdate(spec: JobSpec, result: JobResult, ctx: ReportContext): UpdateJobParams {
  const failure = result.failure;
  const update: UpdateJobParams = {
    ...base(spec, ctx),
    job_status: failure === undefined ? 'finished' : 'failed',
    ...(result.startedAtMs ? { start_time: pandaTime(result.startedAtMs) } : {}),
    ...(result.endedAtMs ? { end_time: pandaTime(result.endedAtMs) } : {}),
    ...usageFields(result.usage),
    job_output_report: outputReport(spec, result),
    n_input_files: spec.inputs.length,
  };
  if (result.exitCode !== undefined) {
    update.trans_exit_code = result.exitCode;
    update.exe_error_code = result.exitCode;
  }
  if (result.errorDiag !== '') update.exe_error_diag = cutTail(result.errorDiag);
  const meta = metaData(result.returnValueJson);
  if (meta !== undefined) update.meta_data = meta;
  if (failure !== undefined) Object.assign(update, failureFields(failure, result.signal));
  return update;
}

/** A job that never ran (untranslatable, cancelled before dispatch, its endpoint lost). */
export function failedUpdate(
  pandaId: number,
  attemptNr: number,
  failure: Failure,
  ctx: ReportContext,
  atMs: number,
): UpdateJobParams {
  return {
    job_id: pandaId,
    attempt_nr: attemptNr,
    site_name: ctx.siteName,
    ...(ctx.schedulerId ? { scheduler_id: ctx.schedulerId } : {}),
    job_status: 'failed',
    end_time: pandaTime(atMs),
    ...failureFields(failure),
  };
}
