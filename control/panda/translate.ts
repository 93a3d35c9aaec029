/**
 * PanDA job → JobSpec. The agent knows nothing of PanDA: this is where comma-joined lists, "NULL"
 * strings, the log LFN hidden in outFiles, runGen's options, %IN and the --exec JSON of the 2023
 * Globus Compute integration become a plain JobSpec. Pure: ids come from the injected newGuid.
 * A job that cannot be translated throws a TranslationError whose message is the diagnostic
 * PanDA receives; the caller fails that job and goes on with the batch.
 */
import { randomUUID } from 'node:crypto';
import { FailureCode, PgcError } from '../../shared/errors.js';
import {
  type FunctionPayload,
  type InputFile,
  JobSpec,
  type OutputFile,
} from '../../shared/gen/pgc/v1/job.js';
import {
  checkFileName,
  intField,
  listField,
  parallelLists,
  type RawPandaJob,
  textField,
} from './job-fields.js';
import { parseRunGenArgs } from './rungen-args.js';

export interface TranslateOptions {
  /** The PanDA queue this job was acquired for. */
  queue: string;
  /**
   * Where inputs may be downloaded, tried in order: templates with {scope}, {lfn}, {guid},
   * {dataset} (e.g. `http://127.0.0.1:25080/sim/files/{scope}/{lfn}` for the simulator).
   */
  inputUrlTemplates?: readonly string[];
  /** Larger jobPars are refused (PanDA allows far more than any real prun job needs). */
  maxJobParsBytes?: number;
  newGuid?: () => string;
}

export const DEFAULT_MAX_JOBPARS_BYTES = 256 * 1024;

/** A job that cannot run; `message` is the diagnostic for PanDA. */
export class TranslationError extends PgcError {
  override name = 'TranslationError';
  constructor(
    message: string,
    readonly pandaId: number | undefined,
    readonly attemptNr: number | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(FailureCode.BAD_JOB, message, { ...options, retryable: false });
  }
}

const RUNGEN = /\/runGen-\d{2}-\d{2}-\d{2}$/;
const EXEC_KEYS = new Set(['func_name', 'pre_script', 'args', 'kwargs']);
const PY_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The largest JobSpec the control plane dispatches (encoded). */
export const MAX_SPEC_BYTES = 1024 * 1024;

export function translatePandaJob(job: RawPandaJob, options: TranslateOptions): JobSpec {
  const pandaId = safe(() => intField(job, 'PandaID'));
  const attemptNr = safe(() => intField(job, 'attemptNr'));
  try {
    const spec = translate(job, options, pandaId, attemptNr);
    // Every message is bounded: a spec must fit a dispatch (gRPC takes 4 MiB by default) and
    // the agent's journal with room to spare.
    const size = JobSpec.encode(spec).finish().length;
    if (size > MAX_SPEC_BYTES)
      throw new Error(`its job parameters take ${size} bytes, over the ${MAX_SPEC_BYTES} allowed`);
    return spec;
  } catch (err) {
    if (err instanceof TranslationError) throw err;
    throw new TranslationError(
      `cannot run PanDA job ${pandaId ?? '?'}: ${(err as Error).message}`,
      pandaId,
      attemptNr,
      { cause: err },
    );
  }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function translate(
  job: RawPandaJob,
  options: TranslateOptions,
  pandaId: number | undefined,
  attemptNr: number | undefined,
): JobSpec {
  if (pandaId === undefined || pandaId <= 0)
    throw new Error('PandaID is missing or not a positive integer');
  if (attemptNr === undefined || attemptNr < 0)
    throw new Error('attemptNr is missing or not a non-negative integer');
  const newGuid = options.newGuid ?? randomUUID;

  const transformation = textField(job, 'transformation') ?? '';
  if (!RUNGEN.test(transformation)) {
    throw new Error(
      `transformation ${JSON.stringify(transformation)} is not supported: panda-gc runs runGen user jobs (prun)`,
    );
  }
  const jobPars = textField(job, 'jobPars');
  if (jobPars === undefined) throw new Error('jobPars is empty');
  const maxBytes = options.maxJobParsBytes ?? DEFAULT_MAX_JOBPARS_BYTES;
  const size = Buffer.byteLength(jobPars);
  if (size > maxBytes)
    throw new Error(`jobPars is ${size} bytes, more than the ${maxBytes} allowed`);
  const args = parseRunGenArgs(jobPars);

  const inputs = readInputs(job, args.inputs, options.inputUrlTemplates ?? []);
  const { outputs, log } = readOutputs(job, args.outputs, newGuid);
  const inputNames = inputs.map((i) => i.lfn).join(',');

  if (args.exec === undefined || args.exec.trim() === '')
    throw new Error('jobPars has no -p (the command or --exec JSON to run)');
  if (args.exec.includes('\uFFFD')) throw new Error('-p is not valid UTF-8 after URL-decoding');
  if (args.exec.includes('%IN') && inputs.length === 0)
    throw new Error('-p uses %IN but the job has no input files');

  let sandbox: JobSpec['sandbox'];
  if (args.archive !== undefined) {
    checkFileName('the sandbox archive (-a)', args.archive);
    if (args.sourceUrl === undefined)
      throw new Error('jobPars has -a but no --sourceURL to fetch it from');
    let source: URL;
    try {
      source = new URL(args.sourceUrl);
    } catch {
      throw new Error(`--sourceURL ${JSON.stringify(args.sourceUrl)} is not a URL`);
    }
    if (source.protocol !== 'http:' && source.protocol !== 'https:')
      throw new Error(`--sourceURL must be http(s), got ${source.protocol}`);
    sandbox = { url: `${args.sourceUrl.replace(/\/+$/, '')}/cache/${args.archive}`, sha256: '' };
  }

  const exec = args.exec.trim();
  const payload: JobSpec['payload'] = exec.startsWith('{')
    ? { $case: 'function', function: functionPayload(exec, inputNames) }
    : { $case: 'command', command: { command: exec.replaceAll('%IN', inputNames) } };

  const taskId = intField(job, 'taskID') ?? intField(job, 'jediTaskID') ?? 0;
  const env: Record<string, string> = {
    PandaID: String(pandaId),
    PanDA_AttemptNr: String(attemptNr),
  };
  if (taskId > 0) env.PanDA_TaskID = String(taskId);
  return {
    key: { pandaId, attemptNr },
    queue: options.queue,
    payload,
    sandbox,
    inputs,
    outputs,
    log,
    limits: {
      cores: Math.max(1, intField(job, 'coreCount') ?? 1),
      memoryMb: Math.max(0, intField(job, 'minRamCount') ?? 0),
      walltimeS: Math.max(0, intField(job, 'maxWalltime') ?? 0),
      killGraceMs: 0,
    },
    env,
    taskId,
    jobName: textField(job, 'jobName') ?? '',
    runDir: args.runDir,
  };
}

/** The prun --exec JSON of the Globus Compute integration: func_name, pre_script, args, kwargs. */
function functionPayload(exec: string, inputNames: string): FunctionPayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(exec);
  } catch (err) {
    throw new Error(`-p looks like --exec JSON but does not parse: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('--exec JSON must be an object');
  const spec = parsed as Record<string, unknown>;
  for (const k of Object.keys(spec)) {
    if (!EXEC_KEYS.has(k))
      throw new Error(
        `--exec JSON has unknown key '${k}' (expected func_name, pre_script, args, kwargs)`,
      );
  }
  const { func_name: funcName, pre_script: preScript = '', args = [], kwargs = {} } = spec;
  if (typeof funcName !== 'string' || !PY_IDENTIFIER.test(funcName))
    throw new Error('--exec JSON func_name must be a Python identifier');
  if (typeof preScript !== 'string') throw new Error('--exec JSON pre_script must be a string');
  if (!Array.isArray(args)) throw new Error('--exec JSON args must be a list');
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs))
    throw new Error('--exec JSON kwargs must be an object');
  // runGen replaces %IN in the command text; here it is replaced inside the JSON values.
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replaceAll('%IN', inputNames);
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    return value;
  };
  return {
    funcName,
    preScript,
    argsJson: JSON.stringify(resolve(args)),
    kwargsJson: JSON.stringify(resolve(kwargs)),
  };
}

function readInputs(
  job: RawPandaJob,
  listed: string[] | undefined,
  templates: readonly string[],
): InputFile[] {
  const [lfns = [], guids = [], sizes = [], checksums = [], scopes = [], datasets = []] =
    parallelLists(job, ['inFiles', 'GUID', 'fsize', 'checksum', 'scopeIn', 'realDatasetsIn']);
  const inputs = lfns.map((lfn, i): InputFile => {
    checkFileName('input LFN', lfn);
    const scope = scopes[i] ?? '';
    if (scope !== '') checkFileName('input scope', scope);
    const sizeText = sizes[i] ?? '';
    if (sizeText !== '' && !/^\d+$/.test(sizeText))
      throw new Error(`fsize of input ${lfn} is not a number: ${JSON.stringify(sizeText)}`);
    const fields = { scope, lfn, guid: guids[i] ?? '', dataset: datasets[i] ?? '' };
    return {
      lfn,
      scope,
      guid: fields.guid,
      sizeBytes: sizeText === '' ? 0 : Number(sizeText),
      checksum: checksums[i] ?? '',
      urls: templates.map((t) =>
        t.replace(/\{(scope|lfn|guid|dataset)\}/g, (_, k: keyof typeof fields) =>
          encodeURIComponent(fields[k]),
        ),
      ),
      dataset: fields.dataset,
    };
  });
  for (const lfn of listed ?? []) {
    if (!lfns.includes(lfn))
      throw new Error(`-i names input ${lfn}, which is not among the job's inFiles`);
  }
  return inputs;
}

function readOutputs(
  job: RawPandaJob,
  mapping: Record<string, string>,
  newGuid: () => string,
): { outputs: OutputFile[]; log: JobSpec['log'] } {
  const logLfn = textField(job, 'logFile');
  const outFiles = listField(job, 'outFiles');
  const datasets = listField(job, 'realDatasets');
  // scopeOut covers outputs only: the log's scope is scopeLog (Harvester job_spec.py).
  const dataLfns = outFiles.filter((lfn) => lfn !== logLfn);
  const scopes = listField(job, 'scopeOut');
  const localByLfn = new Map<string, string>();
  for (const [local, lfn] of Object.entries(mapping)) {
    checkFileName('output name', local);
    if (!dataLfns.includes(lfn))
      throw new Error(`-o maps ${local} to ${lfn}, which is not among the job's outFiles`);
    localByLfn.set(lfn, local);
  }
  const outputs = dataLfns.map((lfn, i): OutputFile => {
    checkFileName('output LFN', lfn);
    const scope = scopes[i] ?? scopes[0] ?? '';
    if (scope !== '') checkFileName('output scope', scope);
    return {
      localName: localByLfn.get(lfn) ?? lfn,
      lfn,
      scope,
      dataset: datasets[outFiles.indexOf(lfn)] ?? '',
      guid: newGuid(),
    };
  });
  if (logLfn === undefined) return { outputs, log: undefined };
  checkFileName('log LFN', logLfn);
  const logScope = textField(job, 'scopeLog') ?? '';
  if (logScope !== '') checkFileName('log scope', logScope);
  return {
    outputs,
    log: { lfn: logLfn, guid: textField(job, 'logGUID') ?? newGuid(), scope: logScope },
  };
}
