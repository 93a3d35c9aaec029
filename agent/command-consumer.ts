/**
 * Kill requests (and future commands) for this agent, pulled from its durable consumer
 * `agent-<endpoint>` on `<prefix>.cmd.<endpoint>`. The control plane creates that consumer when
 * the agent says Hello, so commands sent while the agent was away wait for it. A kill is acked
 * once it is journaled (the kill itself may take the grace); a kill of an attempt the agent does
 * not hold or that has ended is acked and ignored (docs/protocol.md).
 */
import {
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamOptions,
  jetstream,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type BackoffPolicy, backoffDelayMs } from '../shared/backoff.js';
import { describeError } from '../shared/errors.js';
import { KillReason } from '../shared/gen/pgc/v1/common.js';
import { Command, type KillJob } from '../shared/gen/pgc/v1/events.js';
import type { Logger } from '../shared/logger.js';
import type { NatsNames } from '../shared/nats/subjects.js';
import type { AgentCore } from './agent-core.js';

/** Commands handled at once; the consumer pulls 64 at a time. */
const MAX_IN_FLIGHT = 64;

const BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000, multiplier: 2, jitter: 0.3 };

export interface CommandConsumerOptions {
  nc: NatsConnection;
  names: NatsNames;
  endpointId: string;
  /** The agent's JetStream options (its API prefix under pgc nats-config's accounts). */
  jsOptions?: JetStreamOptions;
  core: AgentCore;
  log: Logger;
}

export class CommandConsumer {
  private running = false;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly js: JetStreamClient;
  private readonly log: Logger;
  private retryWake: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly byAttempt = new Map<string, Promise<void>>();

  constructor(private readonly options: CommandConsumerOptions) {
    this.js = jetstream(options.nc, options.jsOptions);
    this.log = options.log.child({ component: 'commands' });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Try again now (e.g. the control plane just created the consumer). */
  poke(): void {
    this.retryWake?.();
  }

  private async run(): Promise<void> {
    const { names, endpointId } = this.options;
    for (let failures = 0; this.running; ) {
      try {
        const consumer = await this.js.consumers.get(
          names.commandsStream,
          names.commandConsumer(endpointId),
        );
        this.messages = await consumer.consume({ max_messages: 64 });
        failures = 0;
        for await (const msg of this.messages) {
          // Commands are handled concurrently: each kill waits for its journal write, and 50
          // kills one after another would hold the last one back by 50 synced writes. Acks may
          // then go out of order, which an explicit-ack consumer allows.
          if (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
          const done = this.handle(msg.data, msg.seq)
            .then(
              () => msg.ack(),
              (err: unknown) => {
                this.log.error(
                  { err: describeError(err) },
                  'cannot handle a command; it is terminated',
                );
                msg.term();
              },
            )
            .catch((err: unknown) =>
              this.log.warn({ err: describeError(err) }, 'cannot acknowledge a command'),
            );
          this.inFlight.add(done);
          void done.finally(() => this.inFlight.delete(done));
        }
      } catch (err) {
        if (!this.running) break;
        const delayMs = backoffDelayMs(failures++, BACKOFF);
        const refused = /Permissions Violation|JetStream not enabled/i.test(String(err));
        if (refused && failures === 1)
          // Retrying cannot help a misconfiguration: say what to check, once per outage.
          this.log.error(
            { err: describeError(err), apiPrefix: this.options.jsOptions?.apiPrefix ?? '$JS.API' },
            'NATS refused this agent its command consumer: are nats.nkeySeedFile and nats.jsApiPrefix what pgc nats-config printed for this endpoint?',
          );
        else
          this.log.debug(
            { err: describeError(err), delayMs },
            'command consumer not available yet',
          );
        await new Promise<void>((resolve) => {
          this.retryWake = resolve;
          setTimeout(resolve, delayMs);
        });
        this.retryWake = undefined;
      }
    }
  }

  private async handle(data: Uint8Array, seq: number): Promise<void> {
    const command = Command.decode(data);
    const body = command.body;
    if (body?.$case !== 'kill' || body.kill.key === undefined) {
      this.log.warn({ seq, commandId: command.commandId }, 'unknown command ignored');
      return;
    }
    // Two commands for one attempt are applied in the order they came, one after the other.
    const attempt = `${body.kill.key.pandaId}/${body.kill.key.attemptNr}`;
    const before = this.byAttempt.get(attempt) ?? Promise.resolve();
    const mine = before.then(() => this.kill(body.kill));
    const settled = mine.catch(() => {});
    this.byAttempt.set(attempt, settled);
    void settled.then(() => {
      if (this.byAttempt.get(attempt) === settled) this.byAttempt.delete(attempt);
    });
    await mine;
  }

  private async kill(command: KillJob): Promise<void> {
    const { key, reason, message, graceMs } = command;
    if (key === undefined) return;
    const outcome = await this.options.core.requestKill(
      key,
      reason,
      message,
      graceMs > 0 ? graceMs : undefined,
    );
    this.log.info(
      { pandaId: key.pandaId, attemptNr: key.attemptNr, reason: KillReason[reason], outcome },
      'kill command',
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    this.retryWake?.();
    await this.messages?.close().catch(() => {});
    await this.loop;
    await Promise.all(this.inFlight);
  }
}
