/**
 * A protocol-level test agent: it speaks AgentGateway.Connect and JetStream exactly as
 * docs/protocol.md says, journals what it accepts, and leaves each decision (ack, reject, stay
 * silent, answer a ReconcileRequest) to the test.
 */

import { type ChannelCredentials, type ClientDuplexStream, credentials } from '@grpc/grpc-js';
import { type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobKey } from '../../../shared/gen/pgc/v1/common.js';
import { Command, JobEvent } from '../../../shared/gen/pgc/v1/events.js';
import {
  AgentGatewayClient,
  type AgentMessage,
  type AttemptState,
  type Capacity,
  type ControlMessage,
  type Dispatch,
  LocalJobState,
  type Welcome,
} from '../../../shared/gen/pgc/v1/gateway.js';
import type { JobResult, JobSpec } from '../../../shared/gen/pgc/v1/job.js';
import { attemptId } from '../../../shared/ids.js';
import { EVENT_RANK, eventMessageId } from '../../../shared/job-events.js';
import type { NatsNames } from '../../../shared/nats/subjects.js';
import { waitFor } from '../../harness/wait.js';

export type DispatchDecision = 'accept' | 'reject' | 'silent';

export interface TestAgentOptions {
  address: string;
  endpointId: string;
  queues: string[];
  nc: NatsConnection;
  names: NatsNames;
  capacity?: Partial<Capacity>;
  /** The journal sent in Hello. */
  attempts?: AttemptState[];
  decide?: (dispatch: Dispatch) => DispatchDecision;
  /** Answer ReconcileRequest with the journal (default true). */
  answerReconcile?: boolean;
  /** Default: plaintext. */
  credentials?: ChannelCredentials;
  /** Ping every 500 ms after Welcome (default true). */
  ping?: boolean;
}

/** A protocol-level agent: it journals what it accepts and publishes events on request. */
export class TestAgent {
  readonly dispatches: Dispatch[] = [];
  readonly journal = new Map<string, AttemptState>();
  readonly specs = new Map<string, JobSpec>();
  reconcileRequests = 0;
  welcome: Welcome | undefined;
  ended = false;
  /** The status the control plane ended the last stream with. */
  status: { code: number; details: string } | undefined;
  private readonly client: AgentGatewayClient;
  private stream: ClientDuplexStream<AgentMessage, ControlMessage> | undefined;
  private pinger: NodeJS.Timeout | undefined;

  constructor(readonly options: TestAgentOptions) {
    this.client = new AgentGatewayClient(
      options.address,
      options.credentials ?? credentials.createInsecure(),
    );
    for (const a of options.attempts ?? []) if (a.key) this.journal.set(attemptId(a.key), a);
  }

  static async connect(options: TestAgentOptions): Promise<TestAgent> {
    const agent = new TestAgent(options);
    await agent.open();
    return agent;
  }

  get endpointId(): string {
    return this.options.endpointId;
  }

  capacity(): Capacity {
    return {
      slotsTotal: 4,
      slotsUsed: 0,
      memoryMbTotal: 0,
      memoryMbUsed: 0,
      draining: false,
      ...this.options.capacity,
    };
  }

  /** Opens a stream, says Hello with the journal and waits for Welcome. */
  async open(): Promise<void> {
    this.welcome = undefined;
    this.ended = false;
    this.status = undefined;
    const stream = this.client.connect();
    this.stream = stream;
    stream.on('data', (m: ControlMessage) => this.onMessage(m));
    stream.on('error', () => {});
    // The call's status is its end: 'close' waits for our side to end too.
    stream.on('status', (st: { code: number; details: string }) => {
      if (this.stream !== stream) return;
      this.status = { code: st.code, details: st.details };
      this.ended = true;
    });
    stream.on('close', () => {
      if (this.stream === stream) this.ended = true;
    });
    this.send({
      body: {
        $case: 'hello',
        hello: {
          endpointId: this.endpointId,
          agentVersion: 'test',
          capacity: this.capacity(),
          queues: this.options.queues,
          attempts: [...this.journal.values()],
          instanceId: `i-${Date.now()}`,
        },
      },
    });
    await waitFor(() => this.welcome !== undefined || this.ended, {
      timeoutMs: 10_000,
      what: `Welcome for ${this.endpointId}`,
    });
    if (this.welcome === undefined) {
      // Set by the stream's listeners meanwhile (TypeScript cannot see that).
      const status = this.status as TestAgent['status'];
      throw new Error(`stream ended without Welcome: ${status?.code} ${status?.details}`);
    }
    if (this.options.ping === false) return;
    this.pinger = setInterval(
      () => this.send({ body: { $case: 'ping', ping: { atMs: Date.now() } } }),
      500,
    );
  }

  send(message: AgentMessage): void {
    this.stream?.write(message);
  }

  private onMessage(message: ControlMessage): void {
    const body = message.body;
    switch (body?.$case) {
      case 'welcome':
        this.welcome = body.welcome;
        return;
      case 'dispatch': {
        const dispatch = body.dispatch;
        this.dispatches.push(dispatch);
        const spec = dispatch.spec;
        if (spec?.key === undefined) return;
        const decision = this.options.decide?.(dispatch) ?? 'accept';
        if (decision === 'silent') return;
        const base = { dispatchId: dispatch.dispatchId, key: spec.key };
        if (decision === 'reject') {
          this.send({
            body: {
              $case: 'dispatchAck',
              dispatchAck: {
                ...base,
                outcome: {
                  $case: 'rejected',
                  rejected: { reason: { code: 4, message: 'full', retryable: true } },
                },
              },
            },
          });
          return;
        }
        this.journal.set(attemptId(spec.key), { key: spec.key, state: LocalJobState.ACCEPTED });
        this.specs.set(attemptId(spec.key), spec);
        this.send({
          body: {
            $case: 'dispatchAck',
            dispatchAck: { ...base, outcome: { $case: 'accepted', accepted: {} } },
          },
        });
        return;
      }
      case 'reconcileRequest':
        this.reconcileRequests++;
        if (this.options.answerReconcile !== false) this.sendReconcile();
        return;
      default:
        return;
    }
  }

  sendReconcile(): void {
    this.send({
      body: { $case: 'reconcile', reconcile: { attempts: [...this.journal.values()] } },
    });
  }

  /** Publishes one job event as the agent's outbox would (Nats-Msg-Id from shared/job-events). */
  async publish(
    key: JobKey,
    body: NonNullable<JobEvent['body']>,
    atMs = Date.now(),
  ): Promise<void> {
    const event: JobEvent = {
      endpointId: this.endpointId,
      key,
      seq: EVENT_RANK[body.$case],
      atMs,
      body,
    };
    await jetstream(this.options.nc).publish(
      this.options.names.jobEvents(this.endpointId, key.pandaId),
      JobEvent.encode(event).finish(),
      { msgID: eventMessageId(event) },
    );
  }

  /** A successful result with every output and the log, as the Adder wants them. */
  result(key: JobKey, failure?: JobResult['failure']): JobResult {
    const spec = this.specs.get(attemptId(key));
    const file = (lfn: string, guid: string) => ({
      localName: lfn,
      lfn,
      sizeBytes: 12,
      adler32: '0a1b2c3d',
      sha256: '',
      guid,
      location: undefined,
    });
    return {
      key,
      exitCode: failure ? 1 : 0,
      signal: '',
      failure,
      killReason: 0,
      usage: { cpuTimeMs: 1000, wallTimeMs: 2000, maxRssBytes: 1024 * 1024 },
      returnValueJson: '',
      outputs: (spec?.outputs ?? []).map((o) => file(o.lfn, o.guid)),
      log: spec?.log ? file(spec.log.lfn, spec.log.guid) : undefined,
      startedAtMs: Date.now() - 2000,
      endedAtMs: Date.now(),
      errorDiag: '',
    };
  }

  /** Pulls the commands waiting on this endpoint's durable consumer (as the agent would). */
  async commands(): Promise<Command[]> {
    const consumer = await jetstream(this.options.nc).consumers.get(
      this.options.names.commandsStream,
      this.options.names.commandConsumer(this.endpointId),
    );
    const out: Command[] = [];
    for (;;) {
      const msg: JsMsg | null = await consumer.next({ expires: 1000 });
      if (msg === null) return out;
      out.push(Command.decode(msg.data));
      msg.ack();
    }
  }

  /** Ends the stream from the agent's side. */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    const stream = this.stream;
    this.stream = undefined;
    this.ended = true;
    stream?.end();
    stream?.cancel();
  }

  async dispose(): Promise<void> {
    await this.close();
    this.client.close();
  }
}

/** Every command stored on an endpoint's command subject so far (without consuming them). */
export async function storedCommands(
  nc: NatsConnection,
  names: NatsNames,
  endpointId: string,
): Promise<Command[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(names.commandsStream);
  const out: Command[] = [];
  for (
    let seq = info.state.first_seq;
    seq <= info.state.last_seq && info.state.messages > 0;
    seq++
  ) {
    const msg = await jsm.streams.getMessage(names.commandsStream, { seq }).catch(() => null);
    if (msg !== null && msg.subject === names.commands(endpointId))
      out.push(Command.decode(msg.data));
  }
  return out;
}
