/**
 * Sends queued jobs to agents (docs/protocol.md §3–4). A pass asks the scheduler for a plan,
 * binds and persists its records (`dispatched`, one write for many) before each Dispatch goes on
 * the stream, then waits for each ack with a deadline:
 * - accepted → `accepted`; rejected → queued again, and not offered to that endpoint for a while;
 * - no ack in time → the attempt stays bound (it may be running there) and the agent is asked
 *   to reconcile; only its journal can release the attempt.
 * Passes are coalesced: every store write kicks, so a burst of writes (acks, events, the pass's
 * own dispatches) must not mean a pass each. Kicks while a pass is pending or running cause one
 * more pass, started from a fresh event-loop turn (setImmediate) so that the writes completing
 * meanwhile are all seen by it.
 */
import { randomUUID } from 'node:crypto';
import type { DispatchAck } from '../shared/gen/pgc/v1/gateway.js';
import type { Logger } from '../shared/logger.js';
import type { AgentSession } from './agent-session.js';
import type { ControlStore } from './control-store.js';
import type { EndpointRegistry } from './endpoint-registry.js';
import { coresOf, type JobRecord, memoryOf, recordId } from './job-record.js';
import { type Assignment, type QueuedJob, schedule } from './scheduler.js';

/** Most dispatches bound in one store write. */
const DISPATCH_BATCH = 128;

export interface DispatcherOptions {
  ackTimeoutMs: number;
  rejectBackoffMs: number;
  log: Logger;
  now: () => number;
}

export function queuedJob(record: JobRecord): QueuedJob {
  return {
    key: record.key,
    id: recordId(record.key),
    queue: record.queue,
    cores: coresOf(record),
    memoryMb: memoryOf(record),
  };
}

export class Dispatcher {
  private scheduled = false;
  private running = false;
  private again = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  /** job id → endpoint id → until when that endpoint is not offered the job again. */
  private readonly rejected = new Map<string, Map<string, number>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: ControlStore,
    private readonly registry: EndpointRegistry,
    private readonly options: DispatcherOptions,
  ) {}

  /** Something changed (a job queued, capacity freed, an endpoint came): plan again soon. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped) return;
      this.idle = this.pass();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await this.idle;
  }

  private async pass(): Promise<void> {
    this.running = true;
    this.again = false;
    try {
      const queued = this.store.queued();
      // Most writes (acks, job events, reports) leave nothing to place: skip the views then.
      if (queued.length === 0) return;
      const plan = schedule(queued.map(queuedJob), this.registry.views(), this.exclusions());
      // In slices, so the first agents get work while the rest of a big plan is written.
      for (let from = 0; from < plan.length; from += DISPATCH_BATCH) {
        if (this.stopped) return;
        await this.dispatchAll(plan.slice(from, from + DISPATCH_BATCH));
      }
    } catch (err) {
      this.options.log.error({ err }, 'dispatch pass failed; trying again on the next change');
    } finally {
      this.running = false;
      if (this.again) this.kick();
    }
  }

  /** Endpoints that rejected a job recently, as of now; undefined when there are none. */
  private exclusions(): ((jobId: string, endpointId: string) => boolean) | undefined {
    const now = this.options.now();
    this.prune(now);
    if (this.rejected.size === 0) return undefined;
    return (jobId, endpointId) => {
      const until = this.rejected.get(jobId)?.get(endpointId);
      return until !== undefined && until > now;
    };
  }

  /**
   * Binds the records of a plan in one durable write, then sends each dispatch: one fsync for the
   * plan instead of one per job, the write path's limit when a pass places hundreds of jobs
   * (bench/scenarios/scale.ts). Every record is still on disk as bound before its dispatch
   * leaves (protocol.md §3, RELIABILITY.md I1).
   */
  private async dispatchAll(plan: readonly Assignment[]): Promise<void> {
    const at = this.options.now();
    const bound: Array<Assignment & { session: AgentSession; dispatchId: string }> = [];
    for (const assignment of plan) {
      const session = this.registry.current(assignment.endpointId);
      if (session === undefined || session.state !== 'live') continue;
      bound.push({ ...assignment, session, dispatchId: randomUUID() });
    }
    if (bound.length === 0) return;
    const results = await this.store.applyMany(
      bound.map(({ job, endpointId, dispatchId }) => ({
        key: job.key,
        event: { type: 'dispatch' as const, at, endpointId, dispatchId },
      })),
    );
    const unsent: Array<{ job: QueuedJob; dispatchId: string }> = [];
    bound.forEach(({ job, endpointId, session, dispatchId }, i) => {
      const result = results[i];
      if (!result?.applied || result.record.spec === undefined) return;
      const log = this.options.log.child({ pandaId: job.key.pandaId, endpointId });
      const sent =
        session.state === 'live' &&
        session.send({
          body: { $case: 'dispatch', dispatch: { dispatchId, spec: result.record.spec } },
        });
      if (!sent) {
        log.info('the stream closed before the dispatch could be sent; queued again');
        unsent.push({ job, dispatchId });
        return;
      }
      log.info({ dispatchId, attemptNr: job.key.attemptNr }, 'dispatched');
      session.expectAck(dispatchId, job.key, this.options.ackTimeoutMs, () => {
        void this.ackTimedOut(session, dispatchId, job).catch((err: unknown) =>
          log.error({ err }, 'recording a missing ack failed'),
        );
      });
    });
    if (unsent.length === 0) return;
    const unsentAt = this.options.now();
    await this.store.applyMany(
      unsent.map(({ job, dispatchId }) => ({
        key: job.key,
        event: { type: 'dispatch-unsent' as const, at: unsentAt, dispatchId },
      })),
    );
  }

  private async ackTimedOut(
    session: AgentSession,
    dispatchId: string,
    job: QueuedJob,
  ): Promise<void> {
    this.options.log.warn(
      { pandaId: job.key.pandaId, endpointId: session.endpointId, dispatchId },
      'no ack in time: the attempt stays bound; asking the agent to reconcile',
    );
    await this.store.apply(job.key, { type: 'ack-timeout', at: this.options.now(), dispatchId });
    session.send({ body: { $case: 'reconcileRequest', reconcileRequest: {} } });
  }

  /** A DispatchAck from the agent of `session`. */
  async onAck(session: AgentSession, ack: DispatchAck): Promise<void> {
    const key = session.takeAck(ack.dispatchId) ?? ack.key;
    if (key === undefined) return;
    const at = this.options.now();
    const endpointId = session.endpointId;
    const log = this.options.log.child({ pandaId: key.pandaId, endpointId });
    const outcome = ack.outcome;
    if (outcome?.$case === 'rejected') {
      const reason = outcome.rejected.reason?.message ?? 'no reason given';
      const result = await this.store.apply(key, {
        type: 'ack-rejected',
        at,
        endpointId,
        dispatchId: ack.dispatchId,
        reason,
      });
      if (result?.applied) {
        log.info({ reason }, 'dispatch rejected; queued again');
        const byEndpoint = this.rejected.get(recordId(key)) ?? new Map<string, number>();
        byEndpoint.set(endpointId, at + this.options.rejectBackoffMs);
        this.rejected.set(recordId(key), byEndpoint);
        this.prune(at);
        // When the exclusion ends the job may go there again, even if nothing else changes.
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          this.kick();
        }, this.options.rejectBackoffMs + 1);
        this.retryTimers.add(timer);
      }
      return;
    }
    const result = await this.store.apply(key, {
      type: 'ack-accepted',
      at,
      endpointId,
      dispatchId: ack.dispatchId,
    });
    if (result?.applied) log.info('dispatch accepted');
  }

  private prune(now: number): void {
    for (const [jobId, byEndpoint] of this.rejected) {
      for (const [endpointId, until] of byEndpoint) if (until <= now) byEndpoint.delete(endpointId);
      if (byEndpoint.size === 0) this.rejected.delete(jobId);
    }
  }
}
