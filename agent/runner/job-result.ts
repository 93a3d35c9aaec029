/**
 * How a job ended, decided in one pure function: a kill's reason wins over what the payload did
 * (a payload that traps SIGTERM and exits 0 was still killed), then a vanished supervisor, then
 * the exit status, then missing outputs. The agent knows no PanDA codes; the control plane maps
 * these reasons.
 */
import { type Failure, FailureCode, KillReason } from '../../shared/gen/pgc/v1/common.js';
import type { SupervisorExit } from './supervisor.js';

const KILL_FAILURES: Record<KillReason, { code: FailureCode; text: string }> = {
  [KillReason.UNSPECIFIED]: { code: FailureCode.INTERNAL, text: 'killed' },
  [KillReason.PANDA]: { code: FailureCode.KILLED_BY_PANDA, text: 'killed by PanDA' },
  [KillReason.OPERATOR]: { code: FailureCode.KILLED_BY_OPERATOR, text: 'killed by an operator' },
  [KillReason.WALLTIME]: { code: FailureCode.WALLTIME, text: 'killed: walltime limit reached' },
  [KillReason.MEMORY]: { code: FailureCode.MEMORY, text: 'killed: memory limit exceeded' },
  [KillReason.LOG_TOO_LARGE]: {
    code: FailureCode.LOG_TOO_LARGE,
    text: 'killed: log larger than twice the cap',
  },
  [KillReason.AGENT_SHUTDOWN]: {
    code: FailureCode.AGENT_SHUTDOWN,
    text: 'killed: the agent shut down',
  },
  [KillReason.FENCE]: { code: FailureCode.LOST, text: 'killed: the endpoint lost its lease' },
  [KillReason.UNRECOGNIZED]: { code: FailureCode.INTERNAL, text: 'killed' },
};

export function killFailure(reason: KillReason, message: string): Failure {
  const { code, text } = KILL_FAILURES[reason];
  return { code, message: message ? `${text}: ${message}` : text, retryable: false };
}

export interface Outcome {
  exit: SupervisorExit | 'vanished' | 'not-started';
  kill?: { reason: KillReason; message: string };
  /** A failure before the payload ran (sandbox, stage-in). */
  setupFailure?: Failure;
  /** A declared output missing or too large. */
  outputProblem?: Failure;
}

function describeExit(exit: SupervisorExit): string {
  return exit.signal !== undefined
    ? `payload was killed by ${exit.signal}`
    : `payload exited with code ${exit.exitCode}`;
}

/** The failure of a job, or undefined when it succeeded. */
export function decideFailure(outcome: Outcome): Failure | undefined {
  if (outcome.kill !== undefined) return killFailure(outcome.kill.reason, outcome.kill.message);
  if (outcome.setupFailure !== undefined) return outcome.setupFailure;
  const exit = outcome.exit;
  if (exit === 'not-started')
    return {
      code: FailureCode.INTERNAL,
      message: 'the payload was never started',
      retryable: false,
    };
  if (exit === 'vanished') {
    return {
      code: FailureCode.LOST,
      message: 'the payload supervisor was killed before it could record how the payload ended',
      retryable: false,
    };
  }
  if (exit.signal !== undefined || exit.exitCode !== 0)
    return { code: FailureCode.NONZERO_EXIT, message: describeExit(exit), retryable: false };
  return outcome.outputProblem;
}
