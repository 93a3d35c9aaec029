/**
 * The step between a job's result and its publication: "the agent publishes the job's final
 * result only after JetStream has acknowledged every chunk and the tarball" (issue 6). For each
 * result event, in order: the rest of stdout and stderr with their eof chunks, the log tarball,
 * then the small outputs; only then does the event go to the outbox. Each step is idempotent
 * and retried with backoff across NATS outages.
 *
 * Nothing new is persisted here: the journal holds the result and its pending uploads (state
 * `exited`) until the result is published, and a restarted agent announces every such result
 * again, which brings it through this step again; steps already done cost one lookup each.
 * Delivery runs per attempt, outside the outbox, so a large upload never holds up other jobs'
 * events. A file that can never be stored (gone or changed) is dropped from the result, which
 * then fails with STAGE_OUT_FAILED, rather than the result waiting forever.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { type BackoffPolicy, backoffDelayMs } from '../../shared/backoff.js';
import { describeError, FailureCode, PgcError } from '../../shared/errors.js';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import type { JobEvent } from '../../shared/gen/pgc/v1/events.js';
import type { JobResult, OutputInfo } from '../../shared/gen/pgc/v1/job.js';
import { attemptId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import type { DeliveryPlan } from '../agent-core.js';
import type { LogShipper } from '../logs/log-shipper.js';
import { ObjectUploader } from './object-uploader.js';

const BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: 0.3 };

export interface ResultDeliveryOptions {
  shipper: LogShipper;
  /** What an attempt's result needs stored; undefined when the attempt has no pending result. */
  plan: (key: JobKey) => DeliveryPlan | undefined;
  /** Records a result changed because a file could not be stored (journaled before it resolves). */
  amend: (key: JobKey, change: (result: JobResult) => JobResult) => Promise<JobResult>;
  /** Hands the result event on (to the outbox) once everything it names is stored. */
  deliver: (event: JobEvent) => Promise<void>;
  /** Told of each file stored in the object store (metrics). */
  onStored?: (bytes: number) => void;
  log: Logger;
}

/** The result without the locations of `lost` objects, failed if it had not failed already. */
export function withoutLostFiles(result: JobResult, lost: Map<string, string>): JobResult {
  const strip = (info: OutputInfo): OutputInfo => {
    const where = info.location?.where;
    if (where?.$case !== 'object' || !lost.has(where.object.name)) return info;
    return { ...info, location: undefined };
  };
  const why = [...lost.values()].join('; ');
  return {
    ...result,
    outputs: result.outputs.map(strip),
    ...(result.log ? { log: strip(result.log) } : {}),
    failure: result.failure ?? {
      code: FailureCode.STAGE_OUT_FAILED,
      message: `stage-out failed: ${why}`,
      retryable: false,
    },
  };
}

export class ResultDelivery {
  private uploader: ObjectUploader | undefined;
  private connected: (() => void) | undefined;
  private readonly ready: Promise<void>;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly options: ResultDeliveryOptions) {
    this.ready = new Promise((resolve) => {
      this.connected = resolve;
    });
  }

  /** Begins delivering with this JetStream client (made with `checkAPI: false`). */
  start(js: JetStreamClient): void {
    this.uploader ??= new ObjectUploader(js);
    this.connected?.();
  }

  /** Results waiting for their files. */
  get size(): number {
    return this.inFlight.size;
  }

  /** Takes a result event; it reaches `deliver` once its logs and files are stored. */
  submit(event: JobEvent): void {
    const key = event.key;
    if (key === undefined || event.body?.$case !== 'result') return;
    const id = attemptId(key);
    if (this.inFlight.has(id)) return;
    const run = this.run(key, event)
      .catch((err: unknown) => {
        if (!this.abort.signal.aborted)
          this.options.log.error(
            { pandaId: key.pandaId, err: describeError(err) },
            'cannot deliver a result; it is delivered when the agent starts again',
          );
      })
      .finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, run);
  }

  private async run(key: JobKey, event: JobEvent): Promise<void> {
    await this.untilReady();
    const plan = this.options.plan(key);
    let result = event.body?.$case === 'result' ? event.body.result : undefined;
    if (plan !== undefined && result !== undefined) {
      const lost = await this.storeAll(key, plan);
      if (lost.size > 0) {
        this.options.log.error(
          { pandaId: key.pandaId, attemptNr: key.attemptNr, lost: [...lost.values()] },
          'files of a result cannot be stored; the result leaves them out and fails',
        );
        result = await this.options.amend(key, (r) => withoutLostFiles(r, lost));
      }
    }
    this.abort.signal.throwIfAborted();
    await this.options.deliver(
      result === undefined ? event : { ...event, body: { $case: 'result', result } },
    );
  }

  /** Stores logs and uploads, retrying until done; returns the objects that can never be. */
  private async storeAll(key: JobKey, plan: DeliveryPlan): Promise<Map<string, string>> {
    const lost = new Map<string, string>();
    const steps: Array<{ what: string; run: () => Promise<unknown> }> = [
      {
        what: 'the rest of the log',
        run: () => this.options.shipper.finish({ key, logFiles: plan.logFiles }),
      },
      ...plan.uploads.map((u) => ({
        what: u.name,
        run: () => {
          if (this.uploader === undefined) throw new Error('not connected to NATS');
          return this.uploader
            .upload(u)
            .then((outcome) => {
              if (outcome === 'uploaded') this.options.onStored?.(u.sizeBytes);
            })
            .catch((err: unknown) => {
              if (err instanceof PgcError && !err.retryable) lost.set(u.name, err.message);
              else throw err;
            });
        },
      })),
    ];
    for (const step of steps) {
      for (let failures = 0; ; failures++) {
        this.abort.signal.throwIfAborted();
        try {
          await step.run();
          break;
        } catch (err) {
          const delayMs = backoffDelayMs(failures, BACKOFF);
          // Loud on the first failure and every tenth after it, so a long wait stays visible.
          this.options.log[failures % 10 === 0 ? 'warn' : 'debug'](
            { pandaId: key.pandaId, what: step.what, delayMs, err: describeError(err) },
            'cannot store a file of a result yet; retrying (the result waits for it)',
          );
          await this.sleep(delayMs);
        }
      }
    }
    return lost;
  }

  /** Resolves once connected to NATS; rejects if the agent stops first. */
  private untilReady(): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve, reject) => {
      const stop = () => reject(signal.reason);
      if (signal.aborted) return stop();
      signal.addEventListener('abort', stop, { once: true });
      void this.ready.then(() => {
        signal.removeEventListener('abort', stop);
        resolve();
      });
    });
  }

  /** Waits `ms`, or less if the agent stops. */
  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Stops; results not yet delivered stay in the journal and are delivered by the next start. */
  async close(): Promise<void> {
    this.abort.abort(new PgcError(FailureCode.CANCELLED, 'the agent is stopping'));
    await Promise.all(this.inFlight.values());
  }
}
