/**
 * Starts the extraction workers of one sandbox manager. Node takes 0.05–0.2 s to start, a
 * quarter of a typical extraction, so one worker is kept started ahead of need: a "spare" that
 * has loaded its code and waits on its stdin. It is started when the manager opens (which also
 * proves, at agent start-up, that workers can run at all) and again after each use — not during
 * one, where it would compete for the CPU — and stopped after some idle minutes. Each worker still
 * handles exactly one request and exits.
 */
import { FailureCode, PgcError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import {
  assign,
  type RunningWorker,
  type WorkerLimits,
  WorkerProcess,
  type WorkerRunOptions,
} from './worker-client.js';
import type { WorkerRequest, WorkerStats } from './worker-protocol.js';

const SPARE_IDLE_MS = 10 * 60_000;

/** All workers of a launcher share its process limits. */
export class WorkerLauncher {
  private spare: WorkerProcess | undefined;
  private spareTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly limits: WorkerLimits,
    private readonly log: Logger,
  ) {}

  /**
   * Starts the spare and waits until it is ready. At agent start-up this also proves that the
   * worker can run at all (tsx or dist/ present, prlimit usable), rather than failing the first job.
   */
  async warmUp(timeoutMs = 30_000): Promise<void> {
    this.prestart();
    const spare = this.spare;
    if (spare === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const ready = await Promise.race([spare.ready, timedOut]);
    clearTimeout(timer);
    if (!ready) {
      spare.kill();
      throw new PgcError(
        FailureCode.INTERNAL,
        `the sandbox extraction worker does not start: ${spare.describeFailure()}`,
      );
    }
  }

  /** Gives the request to the spare if there is one, else to a fresh worker. */
  start(request: WorkerRequest, options: WorkerRunOptions): RunningWorker {
    let worker = this.spare;
    this.spare = undefined;
    clearTimeout(this.spareTimer);
    if (worker === undefined || worker.exited) worker = new WorkerProcess(this.limits, this.log);
    const running = assign(worker, request, options);
    // The next spare starts once this worker is done, not while it competes for the CPU.
    const replace = (): void => this.prestart();
    running.done.then(replace, replace);
    return running;
  }

  /** Runs a request that needs no input (freeze). */
  run(request: WorkerRequest, options: WorkerRunOptions): Promise<WorkerStats> {
    const worker = this.start(request, options);
    worker.stdin.end();
    return worker.done;
  }

  /** Stops the spare; workers in use finish (or are cancelled by their signals). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.spareTimer);
    const spare = this.spare;
    this.spare = undefined;
    spare?.kill();
    await spare?.closed;
  }

  private prestart(): void {
    if (this.closed || (this.spare !== undefined && !this.spare.exited)) return;
    const spare = new WorkerProcess(this.limits, this.log);
    this.spare = spare;
    // An agent with nothing to install gives the memory back; the next install starts a new one.
    this.spareTimer = setTimeout(() => {
      if (this.spare === spare) this.spare = undefined;
      spare.kill();
    }, SPARE_IDLE_MS);
    this.spareTimer.unref();
  }
}
