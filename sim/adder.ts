/**
 * The Adder's verdict on a job's output report (srv dataservice/adder_gen.py::
 * parse_job_output_report, finalize_job_status). The report is a JSON object keyed by LFN; every
 * output and log LFN needs `guid`, an int `fsize` and a checksum (reference §5.1). A bad report
 * fails the job with ddmErrorCode 200 (EC_Adder).
 */
import { parsePyJson } from './py-json.js';
import { PyFloat, type PyValue } from './py-value.js';

export interface AdderInput {
  requestedStatus: 'finished' | 'failed';
  report: string;
  /** Every output LFN and the log LFN of the job. */
  outputLfns: readonly string[];
  logLfn: string;
  inputLfns: readonly string[];
  pilotErrorCode: number | null;
  transExitCode: number | null;
  taskBufferErrorCode: number | null;
}

export interface AdderVerdict {
  status: 'finished' | 'failed';
  ddmErrorCode: number | null;
  ddmErrorDiag: string | null;
  /** One line for the job's event history. */
  reason: string;
}

export const EC_ADDER = 200;
export const BAD_REPORT_DIAG = 'Could not get GUID/LFN/MD5/FSIZE/SURL from pilot JSON';
const EC_WORKER_DONE = 300;

class ReportError extends Error {}

/** Python int(v): ints, bools, truncated floats and integer strings; anything else raises. */
export function pyInt(v: PyValue): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (v instanceof PyFloat) {
    if (!Number.isFinite(v.value))
      throw new ReportError(`cannot convert float ${v.value} to integer`);
    return Math.trunc(v.value);
  }
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?[0-9]+(_[0-9]+)*$/.test(t)) {
      const n = BigInt(t.replaceAll('_', ''));
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(n)
        : n;
    }
  }
  throw new ReportError(`invalid literal for int(): ${String(v)}`);
}

/** Python str(v) as far as a checksum check needs it: strings as they are, numbers as digits. */
function pyStr(v: PyValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return '';
}

interface FileEntry {
  lfn: string;
  fsize: number | bigint | null;
  checksum: string | null;
}

function entriesOf(parsed: PyValue): [string, PyValue][] {
  if (parsed instanceof Map) return [...parsed];
  // `for lfn in json_dict` over an empty list or string runs zero times; anything else raises.
  if ((Array.isArray(parsed) || typeof parsed === 'string') && parsed.length === 0) return [];
  throw new ReportError('the report is not a JSON object keyed by LFN');
}

function parseEntries(report: string, inputLfns: readonly string[]): FileEntry[] {
  const entries: FileEntry[] = [];
  for (const [lfn, data] of entriesOf(parsePyJson(report))) {
    if (!(data instanceof Map)) throw new ReportError(`entry ${lfn} is not an object`);
    if (!data.has('guid')) throw new ReportError(`entry ${lfn} has no guid`);
    const fsize = data.has('fsize') ? pyInt(data.get('fsize') as PyValue) : null;
    const md5 = data.has('md5sum') ? pyStr(data.get('md5sum') as PyValue) : '';
    const adler = data.has('adler32') ? pyStr(data.get('adler32') as PyValue) : '';
    // Only 32-hex md5sums count (the server drops others); adler32 must be 8 hex (reference §5.1).
    const checksum = /^[0-9a-fA-F]{8}$/.test(adler)
      ? `ad:${adler}`
      : /^[0-9a-fA-F]{32}$/.test(md5)
        ? `md5:${md5}`
        : null;
    if (!inputLfns.includes(lfn) && (fsize === null || checksum === null)) {
      throw new ReportError(`entry ${lfn} lacks fsize or a valid adler32/md5sum`);
    }
    entries.push({ lfn, fsize, checksum });
  }
  return entries;
}

export function checkOutputReport(input: AdderInput): AdderVerdict {
  const { requestedStatus } = input;
  const ok = (reason: string): AdderVerdict => ({
    status: requestedStatus,
    ddmErrorCode: null,
    ddmErrorDiag: null,
    reason,
  });
  const fail = (diag: string, reason = diag): AdderVerdict => ({
    status: 'failed',
    ddmErrorCode: EC_ADDER,
    ddmErrorDiag: diag,
    reason,
  });
  if (input.outputLfns.length === 0) return ok(`no outputs; ${requestedStatus}`);

  let entries: FileEntry[];
  try {
    entries = parseEntries(input.report, input.inputLfns);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    // A broken report after a pilot/trf error is the pilot's failure, not the Adder's.
    const pilotClean =
      (input.pilotErrorCode ?? 0) === 0 &&
      (input.transExitCode ?? 0) === 0 &&
      input.taskBufferErrorCode !== EC_WORKER_DONE;
    if (!pilotClean) {
      return {
        status: 'failed',
        ddmErrorCode: null,
        ddmErrorDiag: null,
        reason: `bad report: ${why}`,
      };
    }
    return fail(BAD_REPORT_DIAG, `${BAD_REPORT_DIAG} (${why})`);
  }

  const reported = new Set(entries.map((e) => e.lfn));
  // A failed job only registers its log (adder_gen: "add only log file for failed jobs").
  const expected =
    requestedStatus === 'failed'
      ? input.outputLfns.filter((l) => l === input.logLfn)
      : input.outputLfns;
  const missing = expected.filter((lfn) => !reported.has(lfn));
  const known = new Set([...input.inputLfns, ...input.outputLfns]);
  const stray = [...reported].find((lfn) => !known.has(lfn));
  // The server reports a stray LFN over a missing one, and the last missing one it met.
  if (stray !== undefined) return fail(`pilot produced ${stray} inconsistently with jobdef`);
  const lastMissing = missing[missing.length - 1];
  if (lastMissing !== undefined)
    return fail(`expected output ${lastMissing} is missing in pilot JSON`);
  return ok(`output report accepted; ${requestedStatus}`);
}
