/**
 * Publishes pending agent commands (kills) to `<prefix>.cmd.<endpoint>` with JetStream, oldest
 * first, until JetStream acknowledges each; only then is the command removed from the store.
 * Commands were persisted with the change that caused them, so a NATS outage or a restart
 * delays a kill but never loses it. `Nats-Msg-Id` = cmd.<commandId>: a command published twice
 * (a crash between the PubAck and the delete) is stored once.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type BackoffPolicy, backoffDelayMs } from '../shared/backoff.js';
import { describeError, PgcError } from '../shared/errors.js';
import { Command } from '../shared/gen/pgc/v1/events.js';
import type { Logger } from '../shared/logger.js';
import { messageIds, type NatsNames } from '../shared/nats/subjects.js';
import type { ControlStore } from './control-store.js';

const RETRY: BackoffPolicy = { initialMs: 250, maxMs: 5000, multiplier: 2, jitter: 0.2 };

export class CommandPublisher {
  private running = false;
  private again = false;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly store: ControlStore,
    private readonly log: Logger,
    private readonly publishTimeoutMs = 5000,
  ) {}

  /** New commands (or the end of a backoff): publish what is pending. */
  kick(): void {
    // During a backoff the timer kicks again; a new command waits for it too.
    if (this.stopped || this.timer !== undefined) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = this.drain().finally(() => {
      this.running = false;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.idle;
  }

  private async drain(): Promise<void> {
    const js = jetstream(this.nc, { timeout: this.publishTimeoutMs });
    do {
      this.again = false;
      const pending = [...this.store.commands.values()].sort(
        (a, b) => a.createdAtMs - b.createdAtMs,
      );
      for (const pc of pending) {
        if (this.stopped) return;
        try {
          await js.publish(
            this.names.commands(pc.endpointId),
            Command.encode(pc.command).finish(),
            {
              msgID: messageIds.command(pc.commandId),
              timeout: this.publishTimeoutMs,
            },
          );
          await this.store.commandPublished(pc.commandId);
          this.failures = 0;
          this.log.info(
            { commandId: pc.commandId, endpointId: pc.endpointId },
            'command published',
          );
        } catch (err) {
          if (err instanceof PgcError && !err.retryable) {
            // A command that can never be published (a bad subject) must not block the others.
            this.log.error({ err: describeError(err), commandId: pc.commandId }, 'command dropped');
            await this.store.commandPublished(pc.commandId);
            continue;
          }
          this.failures++;
          const delay = backoffDelayMs(this.failures - 1, RETRY);
          this.log.warn(
            { err: describeError(err), commandId: pc.commandId, delayMs: delay },
            'publishing a command failed; retrying',
          );
          if (!this.stopped)
            this.timer = setTimeout(() => {
              this.timer = undefined;
              this.kick();
            }, delay);
          return;
        }
      }
    } while (this.again && !this.stopped);
  }
}
