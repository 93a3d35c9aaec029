/**
 * The agent's gRPC session with the control plane: one bidi `Connect` stream, opened by the agent
 * (agents only dial out) and reopened forever with jittered backoff. Every (re)connection starts
 * with a Hello listing every attempt in the journal, which is how both sides reconcile. Dispatches
 * are accepted only once the attempt is journaled, and refused when slots, memory or draining say
 * so; a dispatch of an attempt already held is acknowledged again without starting anything
 * (docs/protocol.md).
 *
 *   idle → connecting → connected ─(stream ends)→ waiting ─(backoff)→ connecting …
 *                                        stop() from any state → stopped
 */
import { type ChannelCredentials, type ClientDuplexStream, status } from '@grpc/grpc-js';
import { type BackoffPolicy, backoffDelayMs } from '../shared/backoff.js';
import { describeError, FailureCode, toFailure } from '../shared/errors.js';
import {
  AgentGatewayClient,
  type AgentMessage,
  type AgentStats,
  type Capacity,
  type ControlMessage,
  type Dispatch,
  LocalJobState,
} from '../shared/gen/pgc/v1/gateway.js';
import type { JobSpec } from '../shared/gen/pgc/v1/job.js';
import { attemptId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { AgentCore } from './agent-core.js';
import type { LocalState } from './journal.js';

export const RECONNECT_BACKOFF: BackoffPolicy = {
  initialMs: 1000,
  maxMs: 30_000,
  multiplier: 1.6,
  jitter: 0.2,
};

const LOCAL_STATES: Record<LocalState, LocalJobState> = {
  accepted: LocalJobState.ACCEPTED,
  staging: LocalJobState.STAGING,
  starting: LocalJobState.RUNNING,
  running: LocalJobState.RUNNING,
  exited: LocalJobState.EXITED_UNPUBLISHED,
  published: LocalJobState.PUBLISHED,
};

export interface SessionOptions {
  address: string;
  credentials: ChannelCredentials;
  endpointId: string;
  agentVersion: string;
  instanceId: string;
  queues: readonly string[];
  core: AgentCore;
  capacity: () => Capacity;
  /** Reserves capacity for a job and returns undefined, or says why it does not fit. */
  admit: (spec: JobSpec) => string | undefined;
  /** Drops the reservation once the job runs (its runner counts from then on) or failed to start. */
  admitted: (spec: JobSpec) => void;
  log: Logger;
  backoff?: BackoffPolicy;
  /** Called on every Welcome (the control plane has created this endpoint's NATS resources). */
  onWelcome?: () => void;
  /** The agent's counters, sent with every ping for the control plane's metrics. */
  stats?: () => AgentStats;
}

export type SessionState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'stopped';

export class AgentSession {
  private state: SessionState = 'idle';
  private client: AgentGatewayClient | undefined;
  private stream: ClientDuplexStream<AgentMessage, ControlMessage> | undefined;
  private attempt = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly options: SessionOptions) {
    this.log = options.log.child({ component: 'session' });
  }

  get current(): SessionState {
    return this.state;
  }

  start(): void {
    if (this.state !== 'idle') throw new Error(`session cannot start in state ${this.state}`);
    this.client = new AgentGatewayClient(this.options.address, this.options.credentials, {
      // Detect a dead control plane on a silent connection (RELIABILITY.md §3.2).
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 1000,
      'grpc.max_reconnect_backoff_ms': 30_000,
    });
    this.connect();
  }

  private attempts() {
    return this.options.core
      .attempts()
      .map(({ key, state }) => ({ key, state: LOCAL_STATES[state] }));
  }

  private connect(): void {
    if (this.state === 'stopped' || this.client === undefined) return;
    this.state = 'connecting';
    const stream = this.client.connect();
    this.stream = stream;
    stream.on('data', (message: ControlMessage) => this.onMessage(message));
    stream.on('error', (err: Error & { code?: number }) => {
      if (err.code !== status.CANCELLED)
        this.log.warn({ err: err.message }, 'control-plane stream failed');
    });
    // grpc-js ends every call with exactly one 'status' event (after 'error', if any); 'close'
    // is not emitted reliably by client streams.
    stream.on('status', () => this.onClosed(stream));
    this.write({
      body: {
        $case: 'hello',
        hello: {
          endpointId: this.options.endpointId,
          agentVersion: this.options.agentVersion,
          capacity: this.options.capacity(),
          queues: [...this.options.queues],
          attempts: this.attempts(),
          instanceId: this.options.instanceId,
        },
      },
    });
  }

  private onClosed(stream: ClientDuplexStream<AgentMessage, ControlMessage>): void {
    if (stream !== this.stream) return;
    clearInterval(this.pingTimer);
    this.stream = undefined;
    if (this.state === 'stopped') return;
    this.state = 'waiting';
    const delayMs = backoffDelayMs(this.attempt++, this.options.backoff ?? RECONNECT_BACKOFF);
    this.log.info({ delayMs }, 'disconnected from the control plane; reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  private write(message: AgentMessage): void {
    this.stream?.write(message);
  }

  /** Tells the control plane the agent's capacity changed (a job ended or started). */
  sendCapacity(): void {
    if (this.state === 'connected')
      this.write({ body: { $case: 'capacity', capacity: { capacity: this.options.capacity() } } });
  }

  private onMessage(message: ControlMessage): void {
    const body = message.body;
    switch (body?.$case) {
      case 'welcome': {
        this.state = 'connected';
        this.attempt = 0;
        this.log.info(
          { session: body.welcome.sessionId, epoch: body.welcome.epoch },
          'connected to the control plane',
        );
        clearInterval(this.pingTimer);
        const every = body.welcome.pingIntervalMs > 0 ? body.welcome.pingIntervalMs : 10_000;
        this.pingTimer = setInterval(
          () =>
            this.write({
              body: {
                $case: 'ping',
                ping: { atMs: Date.now(), stats: this.options.stats?.() },
              },
            }),
          every,
        );
        this.options.onWelcome?.();
        break;
      }
      case 'dispatch':
        void this.onDispatch(body.dispatch);
        break;
      case 'reconcileRequest':
        this.write({ body: { $case: 'reconcile', reconcile: { attempts: this.attempts() } } });
        break;
      case 'pong':
      case undefined:
        break;
    }
  }

  private async onDispatch(dispatch: Dispatch): Promise<void> {
    const spec = dispatch.spec;
    const key = spec?.key;
    const ack = (outcome: NonNullable<AgentMessage['body']> & { $case: 'dispatchAck' }) =>
      this.write({ body: outcome });
    if (spec === undefined || key === undefined) {
      this.log.warn({ dispatchId: dispatch.dispatchId }, 'dispatch without a job spec');
      return;
    }
    const base = { dispatchId: dispatch.dispatchId, key };
    const held = this.options.core.attempts().some((a) => attemptId(a.key) === attemptId(key));
    if (!held) {
      const why = this.options.admit(spec);
      if (why !== undefined) {
        ack({
          $case: 'dispatchAck',
          dispatchAck: {
            ...base,
            outcome: {
              $case: 'rejected',
              rejected: {
                reason: { code: FailureCode.UNAVAILABLE, message: why, retryable: true },
              },
            },
          },
        });
        return;
      }
      try {
        await this.options.core.run(spec);
        this.options.admitted(spec);
      } catch (err) {
        this.options.admitted(spec);
        this.log.error(
          { pandaId: key.pandaId, err: describeError(err) },
          'cannot accept a dispatch',
        );
        ack({
          $case: 'dispatchAck',
          dispatchAck: {
            ...base,
            outcome: { $case: 'rejected', rejected: { reason: toFailure(err) } },
          },
        });
        return;
      }
      this.sendCapacity();
    }
    ack({
      $case: 'dispatchAck',
      dispatchAck: { ...base, outcome: { $case: 'accepted', accepted: {} } },
    });
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearInterval(this.pingTimer);
    clearTimeout(this.retryTimer);
    const stream = this.stream;
    this.stream = undefined;
    if (stream !== undefined) {
      const closed = new Promise<void>((resolve) => stream.once('status', () => resolve()));
      stream.end();
      stream.cancel();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
    }
    this.client?.close();
  }
}
