/**
 * Simulated agents for the scale benchmarks: one process holding N `AgentGateway.Connect`
 * streams (one per endpoint id, plaintext, each on its own HTTP/2 connection as N agent
 * processes would be), speaking the real protocol. Each says Hello, pings at the interval the
 * Welcome names, acknowledges every Dispatch at once, and publishes the job's events to JetStream
 * as an agent's outbox does (`running`, then the `result` once `running` was acknowledged, each
 * with its Nats-Msg-Id), sending its capacity after accepting and after the result, like
 * agent/agent.ts. Jobs run nowhere: they finish the moment they are accepted.
 *
 *   tsx bench/lib/simulated-agents.ts --server HOST:PORT --nats URL --count N --queue Q
 *       [--slots 4] [--id-prefix sim] [--subject-prefix pgc] [--no-events]
 *
 * Prints JSON lines on stdout: `{"type":"ready",...}` once every stream was welcomed, then
 * `{"type":"progress","at":<epoch ms>,"dispatches":…,"results":…}` every 200 ms. SIGTERM ends it.
 */
import { parseArgs } from 'node:util';
import { type ClientDuplexStream, credentials } from '@grpc/grpc-js';
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import { JobEvent } from '../../shared/gen/pgc/v1/events.js';
import {
  AgentGatewayClient,
  type AgentMessage,
  type Capacity,
  type ControlMessage,
  type Dispatch,
} from '../../shared/gen/pgc/v1/gateway.js';
import type { JobResult, JobSpec } from '../../shared/gen/pgc/v1/job.js';
import { EVENT_RANK, eventMessageId } from '../../shared/job-events.js';
import { type NatsNames, natsNames } from '../../shared/nats/subjects.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    nats: { type: 'string' },
    count: { type: 'string', default: '10' },
    queue: { type: 'string' },
    slots: { type: 'string', default: '4' },
    'id-prefix': { type: 'string', default: 'sim' },
    'subject-prefix': { type: 'string', default: 'pgc' },
    'no-events': { type: 'boolean', default: false },
  },
});
if (values.server === undefined || values.queue === undefined)
  throw new Error('--server and --queue are required');
if (values.nats === undefined && !values['no-events']) throw new Error('--nats is required');

const server = values.server;
const queue = values.queue;
const count = Number(values.count);
const slots = Number(values.slots);
const names = natsNames(values['subject-prefix']);
const publishEvents = !values['no-events'];

const counters = { dispatches: 0, acks: 0, results: 0, publishErrors: 0, streamEnds: 0 };
const out = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

class SimulatedAgent {
  private readonly client: AgentGatewayClient;
  private stream: ClientDuplexStream<AgentMessage, ControlMessage> | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private held = 0;
  private stopped = false;
  welcomed = false;

  constructor(
    readonly endpointId: string,
    private readonly js: JetStreamClient | undefined,
    private readonly names: NatsNames,
  ) {
    this.client = new AgentGatewayClient(server, credentials.createInsecure(), {
      // One connection per agent, as separate agent processes would have.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
  }

  private capacity(): Capacity {
    return {
      slotsTotal: slots,
      slotsUsed: Math.min(slots, this.held),
      memoryMbTotal: 0,
      memoryMbUsed: 0,
      draining: false,
    };
  }

  /** Opens the stream and resolves on Welcome; rejects when the stream ends first. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.client.connect();
      this.stream = stream;
      stream.on('data', (m: ControlMessage) => {
        const body = m.body;
        if (body?.$case === 'welcome') {
          this.welcomed = true;
          const every = body.welcome.pingIntervalMs > 0 ? body.welcome.pingIntervalMs : 10_000;
          clearInterval(this.pinger);
          this.pinger = setInterval(
            () => this.send({ body: { $case: 'ping', ping: { atMs: Date.now() } } }),
            every,
          );
          resolve();
        } else if (body?.$case === 'dispatch') this.onDispatch(body.dispatch);
        else if (body?.$case === 'reconcileRequest')
          this.send({ body: { $case: 'reconcile', reconcile: { attempts: [] } } });
      });
      stream.on('error', () => {});
      stream.on('status', (st: { code: number; details: string }) => {
        clearInterval(this.pinger);
        if (this.stream === stream) this.stream = undefined;
        if (!this.welcomed) reject(new Error(`${this.endpointId}: ${st.code} ${st.details}`));
        else if (!this.stopped) counters.streamEnds++;
        this.welcomed = false;
      });
      this.send({
        body: {
          $case: 'hello',
          hello: {
            endpointId: this.endpointId,
            agentVersion: 'bench-simulated',
            capacity: this.capacity(),
            queues: [queue],
            attempts: [],
            instanceId: `${this.endpointId}-${process.pid}`,
          },
        },
      });
    });
  }

  private send(message: AgentMessage): void {
    this.stream?.write(message);
  }

  private onDispatch(dispatch: Dispatch): void {
    counters.dispatches++;
    const spec = dispatch.spec;
    const key = spec?.key;
    if (spec === undefined || key === undefined) return;
    this.held++;
    this.send({ body: { $case: 'capacity', capacity: { capacity: this.capacity() } } });
    this.send({
      body: {
        $case: 'dispatchAck',
        dispatchAck: {
          dispatchId: dispatch.dispatchId,
          key,
          outcome: { $case: 'accepted', accepted: {} },
        },
      },
    });
    counters.acks++;
    void this.finish(spec, key);
  }

  private async publish(key: JobKey, body: NonNullable<JobEvent['body']>): Promise<void> {
    const event: JobEvent = {
      endpointId: this.endpointId,
      key,
      seq: EVENT_RANK[body.$case],
      atMs: Date.now(),
      body,
    };
    // As the agent's outbox: until the server acknowledges it.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.js?.publish(
          this.names.jobEvents(this.endpointId, key.pandaId),
          JobEvent.encode(event).finish(),
          { msgID: eventMessageId(event), timeout: 5000 },
        );
        return;
      } catch (err) {
        counters.publishErrors++;
        if (this.stopped || attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  private async finish(spec: JobSpec, key: JobKey): Promise<void> {
    try {
      if (publishEvents) {
        await this.publish(key, { $case: 'running', running: { pid: process.pid } });
        await this.publish(key, { $case: 'result', result: resultOf(spec, key) });
      }
      counters.results++;
    } catch {
      // Counted in publishErrors; the control plane will see the job never finish.
    } finally {
      this.held--;
      this.send({ body: { $case: 'capacity', capacity: { capacity: this.capacity() } } });
    }
  }

  close(): void {
    this.stopped = true;
    clearInterval(this.pinger);
    const stream = this.stream;
    this.stream = undefined;
    stream?.end();
    stream?.cancel();
    this.client.close();
  }
}

/** A successful result naming every output and the log, as the Adder wants them. */
function resultOf(spec: JobSpec, key: JobKey): JobResult {
  const now = Date.now();
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
    exitCode: 0,
    signal: '',
    failure: undefined,
    killReason: 0,
    usage: { cpuTimeMs: 1, wallTimeMs: 1, maxRssBytes: 1024 * 1024 },
    returnValueJson: '',
    outputs: spec.outputs.map((o) => file(o.lfn, o.guid)),
    log: spec.log ? file(spec.log.lfn, spec.log.guid) : undefined,
    startedAtMs: now,
    endedAtMs: now,
    errorDiag: '',
  };
}

async function main(): Promise<void> {
  const nc = publishEvents
    ? await connect({ servers: values.nats, name: 'pgc-bench-simulated-agents' })
    : undefined;
  const js = nc ? jetstream(nc) : undefined;
  const agents = Array.from(
    { length: count },
    (_, i) => new SimulatedAgent(`${values['id-prefix']}-${i}`, js, names),
  );
  const t0 = performance.now();
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const a of agents) a.close();
    await nc?.drain().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // Hellos in waves: each makes the control plane create NATS resources for the endpoint.
  const WAVE = 50;
  for (let i = 0; i < agents.length; i += WAVE) {
    await Promise.all(
      agents.slice(i, i + WAVE).map(async (agent) => {
        for (let attempt = 0; ; attempt++) {
          try {
            await agent.open();
            return;
          } catch (err) {
            if (attempt >= 30) throw err;
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        }
      }),
    );
  }
  out({ type: 'ready', agents: agents.length, ms: performance.now() - t0 });
  setInterval(() => {
    out({
      type: 'progress',
      at: Date.now(),
      welcomed: agents.filter((a) => a.welcomed).length,
      ...counters,
    });
  }, 200);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulated agents failed: ${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
