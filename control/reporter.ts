/**
 * Flushes the report outbox to PanDA's update_jobs_bulk. An update goes out at once when no call
 * is in flight; what arrives during a call waits for it and goes in the next one (≤ 100 jobs).
 * A failed call is retried after a jittered backoff (RELIABILITY.md test 45); a per-job
 * transient refusal is retried alone. `alreadydone` counts as delivered (I2), and PanDA's
 * acknowledgement of a final update makes the record `reported`. A `tobekilled` in the reply to
 * a progress update is a kill request (reference §2.4).
 */
import type { PgcError } from '../shared/errors.js';
import { describeError } from '../shared/errors.js';
import type { JobKey } from '../shared/gen/pgc/v1/common.js';
import type { Logger } from '../shared/logger.js';
import type { ControlStore } from './control-store.js';
import type { OutboxEntry } from './outbox.js';
import type { PandaClient } from './panda/client.js';
import type { UpdateReply } from './panda/wire-types.js';
import {
  callFailureDelayMs,
  judgeReply,
  nextReadyAt,
  pickBatch,
  type ReportPolicy,
} from './report-policy.js';

export interface ReporterOptions {
  policy: ReportPolicy;
  schedulerId: string;
  log: Logger;
  now: () => number;
  /** PanDA asked for this job to be killed. */
  onKill: (key: JobKey, message: string) => void;
}

export class Reporter {
  private inFlight = false;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private idle: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();

  constructor(
    private readonly store: ControlStore,
    private readonly panda: PandaClient,
    private readonly options: ReporterOptions,
  ) {}

  /** The outbox changed (or a wait ended): send what is ready, unless a call is in flight. */
  kick(): void {
    if (this.stopped || this.inFlight) return;
    if (this.failures > 0 && this.timer !== undefined) return; // backing off after a failed call
    this.clearTimer();
    this.inFlight = true;
    this.idle = this.flush()
      .catch((err: unknown) => {
        // The store failed (disk); PanDA is not to blame. Look again in a while.
        this.options.log.error({ err }, 'reporting failed; retrying');
        this.wakeAt(this.options.now() + 1000);
      })
      .finally(() => {
        this.inFlight = false;
      });
  }

  /** Lets a call in flight finish (PanDA may have applied it already), then gives up on it. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    const grace = setTimeout(() => this.abort.abort(), graceMs);
    await this.idle;
    clearTimeout(grace);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wakeAt(at: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.kick();
      },
      Math.max(0, at - this.options.now()),
    );
  }

  private async flush(): Promise<void> {
    const { policy, log, now } = this.options;
    while (!this.stopped) {
      const batch = pickBatch(this.store.outbox.values(), now(), policy.maxBatchJobs);
      if (batch.length === 0) {
        const next = nextReadyAt(this.store.outbox.values(), now());
        if (next !== undefined) this.wakeAt(next);
        return;
      }
      let replies: Array<UpdateReply | PgcError>;
      try {
        replies = await this.panda.updateJobsBulk(
          batch.map((e) => e.update),
          this.options.schedulerId,
          this.abort.signal,
        );
      } catch (err) {
        if (this.stopped) return;
        this.failures++;
        const delay = callFailureDelayMs(this.failures, policy);
        log.warn(
          { err: describeError(err), jobs: batch.length, failures: this.failures, delayMs: delay },
          'update_jobs_bulk failed; retrying',
        );
        this.wakeAt(now() + delay);
        return;
      }
      this.failures = 0;
      for (const [i, entry] of batch.entries()) {
        const reply = replies[i];
        if (reply !== undefined) await this.settle(entry, reply);
      }
    }
  }

  private async settle(entry: OutboxEntry, reply: UpdateReply | PgcError): Promise<void> {
    const { log, now } = this.options;
    const key = { pandaId: entry.update.job_id, attemptNr: entry.update.attempt_nr ?? 0 };
    const verdict = judgeReply(entry, reply, this.options.policy);
    const at = now();
    switch (verdict.type) {
      case 'delivered':
        await this.store.outboxDelivered(
          entry.id,
          entry.version,
          entry.final
            ? {
                type: 'reported',
                at,
                message: `PanDA acknowledged ${entry.update.job_status} (${verdict.command ?? 'no command'})`,
              }
            : undefined,
        );
        log.debug(
          { pandaId: key.pandaId, status: entry.update.job_status, command: verdict.command },
          'PanDA took the update',
        );
        if (verdict.kill)
          this.options.onKill(key, `PanDA answered ${verdict.command} to an update`);
        return;
      case 'retry':
        await this.store.outboxRetry(
          entry.id,
          entry.version,
          entry.attempts + 1,
          at + verdict.delayMs,
        );
        this.wakeAt(at + verdict.delayMs);
        return;
      case 'refused':
        log.error(
          { pandaId: key.pandaId, status: entry.update.job_status, reason: verdict.message },
          'PanDA refused an update for good; it is dropped',
        );
        await this.store.outboxDelivered(entry.id, entry.version, {
          type: 'report-refused',
          at,
          message: verdict.message,
        });
        return;
    }
  }
}
