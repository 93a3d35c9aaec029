/**
 * The only place that knows PanDA's pilot error codes (pilot3 pilot/common/errorcodes.py,
 * reference/panda-protocol.md §6). The agent reports typed FailureCodes; PanDA and its monitor
 * expect these numbers.
 */
import { FailureCode } from '../../shared/errors.js';

export const PilotErrorCode = {
  GENERALERROR: 1008,
  NOLOCALSPACE: 1098,
  STAGEINFAILED: 1099,
  STDOUTTOOBIG: 1106,
  SETUPFAILURE: 1110,
  OUTPUTFILETOOLARGE: 1124,
  STAGEOUTFAILED: 1137,
  PANDAKILL: 1144,
  MISSINGOUTPUTFILE: 1165,
  GETADMISMATCH: 1171,
  KILLSIGNAL: 1200,
  USERKILL: 1205,
  REACHEDMAXTIME: 1213,
  PAYLOADEXCEEDMAXMEM: 1235,
  NOUSERTARBALL: 1246,
  PAYLOADEXECUTIONFAILURE: 1305,
} as const;

// Killed by a signal nobody in panda-gc sent (pilot3 maps these to 1201-1208).
const SIGNAL_CODES: Readonly<Record<string, number>> = {
  SIGTERM: 1201,
  SIGQUIT: 1202,
  SIGSEGV: 1203,
  SIGXCPU: 1204,
  SIGBUS: 1206,
  SIGUSR1: 1207,
  SIGINT: 1208,
};

const BY_FAILURE: Partial<Record<FailureCode, number>> = {
  [FailureCode.INPUT_MISSING]: PilotErrorCode.STAGEINFAILED,
  [FailureCode.INPUT_CHECKSUM]: PilotErrorCode.GETADMISMATCH,
  [FailureCode.SANDBOX_UNAVAILABLE]: PilotErrorCode.NOUSERTARBALL,
  [FailureCode.UNSAFE_ARCHIVE]: PilotErrorCode.SETUPFAILURE,
  [FailureCode.ARCHIVE_LIMITS]: PilotErrorCode.SETUPFAILURE,
  [FailureCode.BAD_ARCHIVE]: PilotErrorCode.SETUPFAILURE,
  [FailureCode.BUILD_FAILED]: PilotErrorCode.SETUPFAILURE,
  [FailureCode.OUTPUT_MISSING]: PilotErrorCode.MISSINGOUTPUTFILE,
  [FailureCode.OUTPUT_TOO_LARGE]: PilotErrorCode.OUTPUTFILETOOLARGE,
  [FailureCode.STAGE_OUT_FAILED]: PilotErrorCode.STAGEOUTFAILED,
  [FailureCode.WALLTIME]: PilotErrorCode.REACHEDMAXTIME,
  [FailureCode.MEMORY]: PilotErrorCode.PAYLOADEXCEEDMAXMEM,
  [FailureCode.LOG_TOO_LARGE]: PilotErrorCode.STDOUTTOOBIG,
  [FailureCode.NONZERO_EXIT]: PilotErrorCode.PAYLOADEXECUTIONFAILURE,
  [FailureCode.KILLED_BY_PANDA]: PilotErrorCode.PANDAKILL,
  [FailureCode.KILLED_BY_OPERATOR]: PilotErrorCode.USERKILL,
  [FailureCode.NO_SPACE]: PilotErrorCode.NOLOCALSPACE,
};

/** The pilot error code for a failure; a payload killed by a foreign signal gets that signal's code. */
export function pilotErrorCode(code: FailureCode, signal = ''): number {
  if (code === FailureCode.NONZERO_EXIT && signal !== '')
    return SIGNAL_CODES[signal] ?? PilotErrorCode.KILLSIGNAL;
  return BY_FAILURE[code] ?? PilotErrorCode.GENERALERROR;
}

/** Kills reach PanDA as failed with job_sub_status=cancelled (Harvester propagator.py). */
export function isKill(code: FailureCode): boolean {
  return code === FailureCode.KILLED_BY_PANDA || code === FailureCode.KILLED_BY_OPERATOR;
}
