/**
 * The agent's outbox of job events: every event is written to LevelDB before it is published,
 * and published to JetStream until the server acknowledges it — across NATS outages, agent
 * restarts and lost replies (RELIABILITY.md I5, test 34). Per attempt, events go out in order; a
 * result is published only after the attempt's earlier events were acknowledged. Different
 * attempts are published concurrently. Duplicates are harmless: the message id names the event.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { type BackoffPolicy, backoffDelayMs } from '../shared/backoff.js';
import { type Db, DURABLE, openDb, readPrefix } from '../shared/db.js';
import { describeError } from '../shared/errors.js';
import type { JobKey } from '../shared/gen/pgc/v1/common.js';
import { JobEvent } from '../shared/gen/pgc/v1/events.js';
import { attemptId } from '../shared/ids.js';
import { eventMessageId } from '../shared/job-events.js';
import type { Logger } from '../shared/logger.js';
import type { NatsNames } from '../shared/nats/subjects.js';

const PREFIX = 'evt/';
const MAX_CONCURRENT = 64;
const BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5000, multiplier: 2, jitter: 0.3 };

interface Pending {
  dbKey: string;
  attempt: string;
  event: JobEvent;
}

export interface OutboxOptions {
  log: Logger;
  names: NatsNames;
  /** Deadline of one publish (its PubAck). */
  publishTimeoutMs?: number;
  /** Called once a result event has been acknowledged by JetStream. */
  onResultPublished: (key: JobKey) => Promise<void>;
}

export class EventOutbox {
  private readonly pending: Pending[] = [];
  private nextSeq = 0;
  private js: JetStreamClient | undefined;
  private wake: (() => void) | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private failures = 0;

  private constructor(
    private readonly db: Db<unknown>,
    private readonly options: OutboxOptions,
  ) {}

  static async open(dir: string, options: OutboxOptions): Promise<EventOutbox> {
    const outbox = new EventOutbox(await openDb<unknown>(dir), options);
    for (const [dbKey, value] of await readPrefix(outbox.db, PREFIX)) {
      const event = JobEvent.fromJSON(value);
      outbox.pending.push({
        dbKey,
        attempt: attemptId(event.key ?? { pandaId: 0, attemptNr: 0 }),
        event,
      });
      outbox.nextSeq = Math.max(outbox.nextSeq, Number(dbKey.slice(PREFIX.length)) + 1);
    }
    return outbox;
  }

  /** Events waiting for their acknowledgement. */
  get size(): number {
    return this.pending.length;
  }

  /** Stores the event durably; it is published as soon as possible. */
  async append(event: JobEvent): Promise<void> {
    const dbKey = `${PREFIX}${String(this.nextSeq++).padStart(16, '0')}`;
    await this.db.put(dbKey, JobEvent.toJSON(event), DURABLE);
    this.pending.push({
      dbKey,
      attempt: attemptId(event.key ?? { pandaId: 0, attemptNr: 0 }),
      event,
    });
    this.wake?.();
  }

  /** Starts publishing with this JetStream client (call again after a reconnect is not needed). */
  start(js: JetStreamClient): void {
    this.js = js;
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.pending.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      // The first pending event of each attempt: order within an attempt, concurrency across.
      const seen = new Set<string>();
      const batch: Pending[] = [];
      for (const p of this.pending) {
        if (seen.has(p.attempt)) continue;
        seen.add(p.attempt);
        batch.push(p);
        if (batch.length >= MAX_CONCURRENT) break;
      }
      const outcomes = await Promise.allSettled(batch.map((p) => this.publish(p)));
      const failed = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
      if (failed.length > 0) {
        const delayMs = backoffDelayMs(this.failures++, BACKOFF);
        this.options.log.warn(
          { failed: failed.length, delayMs, err: describeError(failed[0]?.reason) },
          'cannot publish job events yet; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      } else {
        this.failures = 0;
      }
    }
  }

  private async publish(p: Pending): Promise<void> {
    const js = this.js;
    if (js === undefined) throw new Error('no JetStream client');
    const key = p.event.key ?? { pandaId: 0, attemptNr: 0 };
    await js.publish(
      this.options.names.jobEvents(p.event.endpointId, key.pandaId),
      JobEvent.encode(p.event).finish(),
      {
        msgID: eventMessageId(p.event),
        timeout: this.options.publishTimeoutMs ?? 5000,
      },
    );
    if (p.event.body?.$case === 'result') await this.options.onResultPublished(key);
    // Not synced: nobody relies on the removal (I5 is about what is announced). Lost in an OS
    // crash, the event is published again and deduplicated by its message id; the next synced
    // put makes it durable anyway. Saves one fsync per event, five per job.
    await this.db.del(p.dbKey);
    const index = this.pending.indexOf(p);
    if (index >= 0) this.pending.splice(index, 1);
  }

  async close(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.db.close();
  }
}
