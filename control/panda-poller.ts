/**
 * One poller per PanDA queue: acquire_jobs while the queue has free capacity (poll-policy.ts for
 * when, and for how many). Pollers take turns, so two queues served by the same endpoints never
 * acquire for the same free slots. An acquire in flight is never abandoned, not even on stop:
 * its jobs are already `sent` in PanDA and must be taken in.
 */

import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { QueueConfig } from './config.js';
import type { JobIntake } from './job-intake.js';
import type { PandaClient } from './panda/client.js';
import {
  jobsToRequest,
  nextPollDelayMs,
  type PollOutcome,
  type PollTiming,
} from './poll-policy.js';
import type { FreeCapacity } from './scheduler.js';

export interface PollerDeps {
  panda: PandaClient;
  intake: JobIntake;
  capacity: (queue: string) => FreeCapacity;
  /** Serialises acquisitions of all pollers. */
  turn: <T>(fn: () => Promise<T>) => Promise<T>;
  timing: PollTiming;
  maxJobsPerAcquire: number;
  schedulerId: string;
  node: string;
  log: Logger;
}

export class PandaPoller {
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private readonly log: Logger;

  constructor(
    private readonly queue: QueueConfig,
    private readonly deps: PollerDeps,
  ) {
    this.log = deps.log.child({ queue: queue.name });
  }

  start(): void {
    this.loop = this.run();
  }

  /** Capacity may have freed up: a poller waiting for capacity looks again now. */
  capacityChanged(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let errors = 0;
    while (!this.stopped) {
      const outcome = await this.deps.turn(() => this.once());
      errors = outcome === 'error' ? errors + 1 : 0;
      // While PanDA hands out jobs, freed slots are filled at once rather than on the next
      // tick: one call in flight at a time keeps the rate at most one call per batch of jobs.
      await this.sleep(
        nextPollDelayMs(outcome, errors, this.deps.timing),
        outcome === 'no-capacity' || outcome === 'jobs',
      );
    }
  }

  private async once(): Promise<PollOutcome> {
    if (this.stopped) return 'no-capacity';
    const free = this.deps.capacity(this.queue.name);
    const n = jobsToRequest(free.slots, this.deps.maxJobsPerAcquire);
    if (n === 0) return 'no-capacity';
    try {
      const jobs = await this.deps.panda.acquireJobs({
        site_name: this.queue.name,
        prod_source_label: this.queue.prodSourceLabel,
        n_jobs: n,
        scheduler_id: this.deps.schedulerId,
        node: this.deps.node,
        computing_element: this.deps.node,
        // PanDA reads memory 0 as "any job": with none free, ask for jobs that need none.
        ...(free.memoryMb !== undefined ? { memory: Math.max(1, free.memoryMb) } : {}),
      });
      if (jobs.length === 0) return 'no-jobs';
      this.log.info({ jobs: jobs.length, requested: n }, 'acquired jobs');
      await this.deps.intake.take(this.queue.name, jobs);
      return 'jobs';
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'acquire_jobs failed; backing off');
      return 'error';
    }
  }

  /** Waits `ms`; a wait for capacity also ends when capacity changes. */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = () => {
        if (wakeable || this.stopped) done();
      };
    });
  }
}

/** One poller per queue, taking turns at acquire_jobs. */
export function createPollers(
  queues: readonly QueueConfig[],
  deps: Omit<PollerDeps, 'turn'>,
): PandaPoller[] {
  let tail: Promise<unknown> = Promise.resolve();
  const turn = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
  return queues.map((queue) => new PandaPoller(queue, { ...deps, turn }));
}
