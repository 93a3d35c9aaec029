/**
 * A simulated PanDA job's server-side state and the one pure transition that moves it.
 *
 *   activated ──acquire──▶ sent ──update──▶ starting ──▶ running ──update finished|failed──▶ holding
 *       │                   │                  │            │  (stored as holding, §2.3)        │
 *       │ kill              │ kill / 102       │ kill / 100 │ kill: stays running,              │ Adder
 *       ▼                   ▼                  ▼            │ command tobekilled                ▼
 *   cancelled ◀────────────────────────────────┘            └─ lost heartbeat 100 ─▶ failed   finished | failed
 *                                                                                   (cancelled if tobekilled)
 *   holding/transferring past the holding timeout ─▶ failed 103/104.
 *
 * finished, cancelled and closed are archived: updates get `tobekilled`. failed stays visible so
 * late updates get `alreadydone` (srv job_complex_module.py::updateJobStatus). Every move appends
 * {type, atMs, message} to the job's events.
 */
import { type AdderInput, checkOutputReport } from './adder.js';
import {
  EC,
  isFinal,
  type JobEvent,
  type JobStatus,
  moveTo,
  note,
  type SimJobState,
  type Transition,
} from './job-record.js';
import { formatPandaTime } from './panda-time.js';
import { applyPilotUpdate } from './pilot-update.js';
import type { SimTimeouts } from './timeouts.js';

// Kill codes that end a job `closed` rather than `cancelled` (srv killJob, reference §3.1).
const CLOSING_KILL_CODES: ReadonlySet<number> = new Set([2, 4, 10, 51, 55, 60]);
// set_command writes the commandToPilot column; longer strings do not fit.
const MAX_COMMAND_LENGTH = 250;

function acquire(job: SimJobState, e: Extract<JobEvent, { type: 'acquire' }>): Transition {
  if (job.status !== 'activated') return { job, outcome: { type: 'none' } };
  const reported = { ...job.reported };
  if (e.node !== null) reported.modificationHost = e.node.slice(0, 128);
  if (e.computingElement !== null) reported.computingElement = e.computingElement;
  if (e.schedulerId !== null) reported.schedulerID = e.schedulerId;
  // getJobs sets startTime at dispatch; the first move to running sets it again (§1.1, §2.3).
  const moved = moveTo(job, 'sent', e.atMs, `acquired by ${e.node ?? 'an unnamed node'}`);
  return { job: { ...moved, reported, startTimeMs: e.atMs }, outcome: { type: 'none' } };
}

function kill(job: SimJobState, e: Extract<JobEvent, { type: 'kill' }>): Transition {
  if (isFinal(job.status)) return { job, outcome: { type: 'killed', ok: false } };
  const marked: SimJobState = {
    ...job,
    commandToPilot: 'tobekilled',
    taskBufferErrorDiag: `killed by ${e.user}`,
    jobSubStatus: e.jobSubStatus ?? job.jobSubStatus,
  };
  const force =
    e.code === 99 ||
    ((e.code === 9 || e.code === 52) && ['managed', 'test'].includes(job.prodSourceLabel));
  if (job.status === 'running' && !force) {
    // A running job is finished by the next heartbeat exchange (§3.1).
    return {
      job: note(marked, 'kill-requested', e.atMs, 'commandToPilot=tobekilled'),
      outcome: { type: 'killed', ok: true },
    };
  }
  const status = e.code !== null && CLOSING_KILL_CODES.has(e.code) ? 'closed' : 'cancelled';
  const moved = moveTo(
    marked,
    status,
    e.atMs,
    `killed in ${job.status} (code ${e.code ?? 'none'})`,
  );
  return {
    job: { ...moved, taskBufferErrorCode: EC.kill, endTimeMs: job.endTimeMs ?? e.atMs },
    outcome: { type: 'killed', ok: true },
  };
}

function setCommand(job: SimJobState, e: Extract<JobEvent, { type: 'set-command' }>): Transition {
  const refuse = (message: string): Transition => ({
    job,
    outcome: { type: 'command-set', ok: false, message },
  });
  if (isFinal(job.status)) return refuse(`PandaID=${job.pandaId} not found in active jobs`);
  if (job.commandToPilot === 'tobekilled')
    return refuse(`PandaID=${job.pandaId} is already being killed`);
  if (e.command.length > MAX_COMMAND_LENGTH) {
    return refuse(`command is longer than ${MAX_COMMAND_LENGTH} characters`);
  }
  return {
    job: note({ ...job, commandToPilot: e.command }, 'command', e.atMs, e.command),
    outcome: { type: 'command-set', ok: true, message: `command=${e.command} is set` },
  };
}

function adder(job: SimJobState, atMs: number): Transition {
  if (isFinal(job.status) || job.requestedStatus === null)
    return { job, outcome: { type: 'none' } };
  const input: AdderInput = {
    requestedStatus: job.requestedStatus,
    report: job.outputReport ?? '',
    outputLfns: job.outputLfns,
    logLfn: job.logLfn,
    inputLfns: job.inputLfns,
    pilotErrorCode: job.pilotErrorCode,
    transExitCode: job.transExitCode,
    taskBufferErrorCode: job.taskBufferErrorCode,
  };
  const verdict = checkOutputReport(input);
  let status: JobStatus = verdict.status;
  // A killed job that ends failed is recorded as cancelled (srv adder_gen.py).
  if (status === 'failed' && job.commandToPilot === 'tobekilled') status = 'cancelled';
  const moved = moveTo(job, status, atMs, `Adder: ${verdict.reason}`);
  const finished = status === 'finished';
  return {
    job: {
      ...moved,
      endTimeMs: job.endTimeMs ?? atMs,
      ddmErrorCode: verdict.ddmErrorCode ?? job.ddmErrorCode,
      ddmErrorDiag: verdict.ddmErrorDiag ?? job.ddmErrorDiag,
      jobDispatcherErrorCode: finished ? 0 : job.jobDispatcherErrorCode,
      jobDispatcherErrorDiag: finished ? null : job.jobDispatcherErrorDiag,
    },
    outcome: { type: 'none' },
  };
}

/** The Watcher (srv jobdispatcher/Watcher.py): fail jobs whose clock ran out. */
function watchdog(job: SimJobState, atMs: number, t: SimTimeouts): Transition {
  const idleMs = atMs - job.modificationTimeMs;
  const fail = (code: number, diag: string): Transition => ({
    job: {
      ...moveTo(job, 'failed', atMs, `watchdog: ${diag}`),
      jobDispatcherErrorCode: code,
      jobDispatcherErrorDiag: diag,
      endTimeMs: job.endTimeMs ?? atMs,
    },
    outcome: { type: 'none' },
  });
  switch (job.status) {
    case 'sent':
      if (idleMs > t.sentTimeoutMs) {
        return fail(EC.sendError, "Sent job didn't receive reply from pilot within 30 min");
      }
      break;
    case 'starting':
    case 'running':
      if (idleMs > t.heartbeatTimeoutMs) {
        return job.endTimeMs === null
          ? fail(EC.watcher, `lost heartbeat : ${formatPandaTime(job.modificationTimeMs)}`)
          : fail(
              EC.timeout,
              `timeout in ${job.status} : last heartbeat at ${formatPandaTime(job.endTimeMs)}`,
            );
      }
      break;
    case 'holding':
    case 'transferring':
      if (idleMs > t.holdingTimeoutMs) {
        const code = job.status === 'holding' ? EC.holding : EC.transferring;
        const last = formatPandaTime(job.endTimeMs ?? job.modificationTimeMs);
        return fail(code, `timeout in ${job.status} : last heartbeat at ${last}`);
      }
      break;
    default:
      break;
  }
  return { job, outcome: { type: 'none' } };
}

/** The one way a job changes. Pure: same job and event, same result. */
export function transition(job: SimJobState, event: JobEvent): Transition {
  switch (event.type) {
    case 'acquire':
      return acquire(job, event);
    case 'pilot-update':
      return applyPilotUpdate(job, event.update, event.atMs);
    case 'kill':
      return kill(job, event);
    case 'set-command':
      return setCommand(job, event);
    case 'adder':
      return adder(job, event.atMs);
    case 'watchdog':
      return watchdog(job, event.atMs, event.timeouts);
  }
}
