/**
 * The durable consumer of every job event (`<prefix>.evt.>`, consumer `control-events`,
 * docs/protocol.md "Job events"). Each event is applied through the pure transition and
 * persisted (sync) before it is acknowledged, so a crash in between only causes a redelivery,
 * which the transition ignores (RELIABILITY.md test 37). Events whose subject names another
 * endpoint than the event itself are ignored and logged (test 56). An event that cannot be
 * decoded is terminated; one whose handling keeps failing is given up after MaxDeliver and its
 * job failed UNDELIVERABLE_RESULT (test 39). PanDA reporting is not done here (reporter.ts), so
 * a slow PanDA never holds an event past its AckWait (test 38).
 */
import { type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { describeError } from '../shared/errors.js';
import type { JobKey } from '../shared/gen/pgc/v1/common.js';
import { KillReason } from '../shared/gen/pgc/v1/common.js';
import { JobEvent } from '../shared/gen/pgc/v1/events.js';
import type { Logger } from '../shared/logger.js';
import { type NatsNames, parseJobSubject } from '../shared/nats/subjects.js';
import type { ControlStore } from './control-store.js';
import type { EventProgress } from './gateway.js';
import { isFinal, recordId } from './job-record.js';
import { killCommandId } from './job-transition.js';
import { killCommand } from './outbox.js';

export interface EventsConsumerOptions {
  maxDeliver: number;
  log: Logger;
  now: () => number;
  /** Deadline of each JetStream API request. */
  apiTimeoutMs?: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class EventsConsumer implements EventProgress {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private close: (() => Promise<unknown>) | undefined;
  private jsm: JetStreamManager | undefined;
  /** Fences sent by this process, so a chatty stale agent does not cause a write per event. */
  private readonly fenced = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly store: ControlStore,
    private readonly options: EventsConsumerOptions,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.close?.().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    const { log } = this.options;
    while (!this.stopping.signal.aborted) {
      try {
        const consumer = await jetstream(this.nc, { timeout: this.timeout }).consumers.get(
          this.names.eventsStream,
          this.names.controlEventsConsumer,
        );
        const messages = await consumer.consume({ max_messages: 100 });
        this.close = () => messages.close();
        if (this.stopping.signal.aborted) await messages.close();
        for await (const msg of messages) {
          await this.handle(msg);
          if (this.stopping.signal.aborted) break;
        }
      } catch (err) {
        if (!this.stopping.signal.aborted)
          log.warn({ err: describeError(err) }, 'event consumer stopped; starting it again');
      }
      await sleep(1000, this.stopping.signal);
    }
  }

  private get timeout(): number {
    return this.options.apiTimeoutMs ?? 5000;
  }

  /** Applies one message; exported behaviour is ack / term / nak, never a throw. */
  async handle(msg: JsMsg): Promise<void> {
    const { log, now } = this.options;
    let event: JobEvent;
    try {
      event = JobEvent.decode(msg.data);
    } catch (err) {
      log.error(
        { subject: msg.subject, err: describeError(err) },
        'undecodable job event: terminated',
      );
      msg.term();
      return;
    }
    const where = parseJobSubject(this.names, msg.subject);
    const key = event.key;
    if (where === undefined || key === undefined || key.pandaId !== where.pandaId) {
      log.error(
        { subject: msg.subject, key },
        'job event on a subject that does not name it: terminated',
      );
      msg.term();
      return;
    }
    if (where.endpointId !== event.endpointId) {
      log.warn(
        { subject: msg.subject, claimed: event.endpointId, pandaId: key.pandaId },
        'job event claims another endpoint than its subject: ignored',
      );
      msg.ack();
      return;
    }
    try {
      const result = await this.store.apply(key, { type: 'agent-event', at: now(), event });
      if (!result?.applied) {
        const boundTo = this.store.get(recordId(key))?.endpointId;
        const foreign = boundTo !== undefined && boundTo !== where.endpointId;
        // Duplicates and late events are routine; an endpoint reporting another's attempt is not.
        (foreign ? log.warn : log.debug).call(
          log,
          {
            pandaId: key.pandaId,
            attemptNr: key.attemptNr,
            endpointId: where.endpointId,
            event: event.body?.$case,
            why: result?.why ?? 'unknown attempt',
          },
          'job event ignored',
        );
        await this.fenceIfStale(where.endpointId, key, event);
      }
      msg.ack();
    } catch (err) {
      if (msg.info.deliveryCount >= this.options.maxDeliver) {
        await this.giveUp(key, err);
        msg.term();
      } else {
        log.warn(
          { pandaId: key.pandaId, err: describeError(err) },
          'job event failed; it will be redelivered',
        );
        msg.nak(1000);
      }
    }
  }

  /**
   * An agent reports progress of an attempt that is unknown here, final, or bound to another
   * endpoint: it runs something nobody waits for (a dispatch thought lost, a fenced attempt).
   */
  private async fenceIfStale(endpointId: string, key: JobKey, event: JobEvent): Promise<void> {
    if (event.body === undefined || event.body.$case === 'result') return;
    const record = this.store.get(recordId(key));
    if (record !== undefined && !isFinal(record.state) && record.endpointId === endpointId) return;
    const commandId = killCommandId(KillReason.FENCE, endpointId, key);
    if (this.fenced.has(commandId)) return;
    this.fenced.add(commandId);
    this.options.log.warn(
      { endpointId, pandaId: key.pandaId, attemptNr: key.attemptNr },
      'stale attempt reports progress: fenced',
    );
    const message = 'fenced: the control plane does not expect this attempt to run here';
    await this.store.addCommands([
      killCommand(key, endpointId, KillReason.FENCE, message, commandId, this.options.now()),
    ]);
  }

  private async giveUp(key: JobKey, err: unknown): Promise<void> {
    const message = `a job event could not be applied after ${this.options.maxDeliver} deliveries: ${describeError(err)}`;
    this.options.log.error({ pandaId: key.pandaId }, message);
    try {
      await this.store.apply(key, { type: 'undeliverable', at: this.options.now(), message });
    } catch (inner) {
      this.options.log.error({ err: describeError(inner) }, 'cannot even mark the job failed');
    }
  }

  private async manager(): Promise<JetStreamManager> {
    this.jsm ??= await jetstreamManager(this.nc, { timeout: this.timeout });
    return this.jsm;
  }

  async lastSequence(): Promise<number | undefined> {
    try {
      const info = await (await this.manager()).streams.info(this.names.eventsStream);
      return info.state.last_seq;
    } catch (err) {
      this.options.log.warn({ err: describeError(err) }, 'cannot read the events stream');
      return undefined;
    }
  }

  async waitCaughtUp(sequence: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) throw new Error('stopped');
      try {
        const info = await (await this.manager()).consumers.info(
          this.names.eventsStream,
          this.names.controlEventsConsumer,
        );
        if (info.ack_floor.stream_seq >= sequence) return;
        if (
          info.num_pending === 0 &&
          info.num_ack_pending === 0 &&
          info.delivered.stream_seq >= sequence
        )
          return;
      } catch (err) {
        this.options.log.debug({ err: describeError(err) }, 'consumer info failed; asking again');
      }
      await sleep(100, signal);
    }
  }
}
