/**
 * The simulator's job table: definitions, the current state of each job, and every API call that
 * touched it (tests read both through /sim/jobs). All state changes go through transition().
 */
import {
  type DefineContext,
  defineJob,
  type JobDefinition,
  type NewJob,
} from './job-definition.js';
import { isFinal, type JobEvent, type Outcome, type SimJobState } from './job-record.js';
import { transition } from './job-state.js';

export interface JobCall {
  atMs: number;
  /** `<module>/<method>` of the v1 API. */
  method: string;
  params: unknown;
  reply: unknown;
}

export interface StoredJob {
  readonly def: JobDefinition;
  state: SimJobState;
  readonly calls: JobCall[];
}

// PandaIDs above 2^31 and task ids above 2^24, like production: clients must not squeeze them
// into 32-bit integers.
const FIRST_PANDA_ID = 6_100_000_001;
const FIRST_TASK_ID = 41_000_001;
// Call history kept per job; a runaway heartbeat loop must not grow memory without bound.
const MAX_CALLS_PER_JOB = 10_000;

export class JobStore {
  private readonly jobs = new Map<number, StoredJob>();
  private nextPandaId = FIRST_PANDA_ID;
  private nextTaskId = FIRST_TASK_ID;

  /** Creates jobs in `activated`; all or none (a bad entry fails the whole call). */
  create(
    specs: readonly NewJob[],
    ctx: Omit<DefineContext, 'pandaId' | 'taskId'>,
    atMs: number,
  ): { pandaIds: number[]; taskId: number } {
    for (const s of specs) {
      if (s.taskId !== undefined) this.nextTaskId = Math.max(this.nextTaskId, s.taskId + 1);
    }
    const taskId = this.nextTaskId++;
    const defs = specs.map((spec, i) =>
      defineJob(spec, { ...ctx, pandaId: this.nextPandaId + i, taskId }),
    );
    this.nextPandaId += defs.length;
    for (const def of defs)
      this.jobs.set(def.pandaId, { def, state: initialState(def, atMs), calls: [] });
    return { pandaIds: defs.map((d) => d.pandaId), taskId };
  }

  get(pandaId: number): StoredJob | undefined {
    return this.jobs.get(pandaId);
  }

  all(): StoredJob[] {
    return [...this.jobs.values()];
  }

  /** Applies one event; returns what the transition decided. */
  apply(pandaId: number, event: JobEvent): Outcome {
    const job = this.jobs.get(pandaId);
    if (job === undefined) return { type: 'none' };
    const { job: next, outcome } = transition(job.state, event);
    job.state = next;
    return outcome;
  }

  recordCall(pandaId: number, call: JobCall): void {
    const job = this.jobs.get(pandaId);
    if (job === undefined) return;
    if (job.calls.length >= MAX_CALLS_PER_JOB) job.calls.shift();
    job.calls.push(call);
  }

  /** Jobs acquire_jobs may hand out, oldest first. */
  dispatchable(filter: {
    site: string;
    prodSourceLabel: string;
    taskId: number | null;
    memoryMb: number;
  }): StoredJob[] {
    return this.all().filter(
      (j) =>
        j.state.status === 'activated' &&
        j.def.site === filter.site &&
        j.def.prodSourceLabel === filter.prodSourceLabel &&
        (filter.taskId === null || j.def.taskId === filter.taskId) &&
        // A worker with `memory` MB only gets jobs that fit (0 = no limit), like getJobs.
        (filter.memoryMb <= 0 || j.def.minRamCount <= filter.memoryMb),
    );
  }

  /** Jobs the watchdog and the Adder may still move. */
  live(): StoredJob[] {
    return this.all().filter((j) => !isFinal(j.state.status));
  }
}

/** A freshly defined job: `activated`, nothing reported yet. */
export function initialState(def: JobDefinition, atMs: number): SimJobState {
  return {
    pandaId: def.pandaId,
    attemptNr: def.attemptNr,
    prodSourceLabel: def.prodSourceLabel,
    outputLfns: [...def.outputs.map((o) => o.lfn), def.log.lfn],
    logLfn: def.log.lfn,
    inputLfns: def.inputs.map((i) => i.lfn),
    status: 'activated',
    commandToPilot: null,
    jobSubStatus: null,
    requestedStatus: null,
    outputReport: null,
    pilotErrorCode: null,
    pilotErrorDiag: null,
    exeErrorCode: null,
    exeErrorDiag: null,
    transExitCode: null,
    ddmErrorCode: null,
    ddmErrorDiag: null,
    jobDispatcherErrorCode: null,
    jobDispatcherErrorDiag: null,
    taskBufferErrorCode: null,
    taskBufferErrorDiag: null,
    supErrorCode: null,
    supErrorDiag: null,
    reported: {},
    creationTimeMs: atMs,
    modificationTimeMs: atMs,
    stateChangeTimeMs: atMs,
    startTimeMs: null,
    endTimeMs: null,
    events: [{ type: 'activated', atMs, message: `defined for ${def.site}` }],
  };
}
