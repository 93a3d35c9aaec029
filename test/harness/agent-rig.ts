/**
 * A real agent (`pgc agent run`, its own process) against a real nats-server and the test
 * gateway: JetStream streams and the endpoint's bucket are created the way the control plane
 * creates them (shared/nats/streams.ts), under a prefix unique to the test. Readers see what a
 * user of `pgc logs` and `pgc outputs` would: log chunks, result events and objects, each with
 * the time the server stored it, so tests can check what was stored before what.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { MARKER_VARIABLE } from '../../agent/agent-core.js';
import { processesByMarker } from '../../agent/proc.js';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import { JobEvent, LogChunk } from '../../shared/gen/pgc/v1/events.js';
import type { JobResult, JobSpec } from '../../shared/gen/pgc/v1/job.js';
import { attemptId } from '../../shared/ids.js';
import { silentLogger } from '../../shared/logger.js';
import { connectNats } from '../../shared/nats/connect.js';
import type { LocalNatsServer } from '../../shared/nats/local-server.js';
import {
  DEFAULT_STREAM_SETTINGS,
  ensureControlStreams,
  ensureEndpointResources,
  type StreamSettings,
} from '../../shared/nats/streams.js';
import { type NatsNames, natsNames } from '../../shared/nats/subjects.js';
import { uniqueId } from './nats.js';
import { PgcProcess } from './process.js';
import { TestGateway } from './test-gateway.js';

export interface Stored<T> {
  value: T;
  /** When the server stored the message. */
  storedAtMs: number;
  /** When this reader received it. */
  receivedAtMs: number;
}

export interface AgentRigOptions {
  dir: string;
  nats: LocalNatsServer;
  /** Agent settings as PGC_* variables (e.g. PGC_LOG_SHIP_MAX_BYTES). */
  env?: Record<string, string>;
  /** Create the endpoint's bucket (default true); false leaves it to the test. */
  bucket?: boolean;
  streams?: Partial<StreamSettings>;
}

function stored<T>(m: JsMsg, value: T): Stored<T> {
  return { value, storedAtMs: Math.round(m.info.timestampNanos / 1e6), receivedAtMs: Date.now() };
}

export class AgentRig implements AsyncDisposable {
  readonly agent: PgcProcess;
  readonly stateDir: string;
  readonly logFile: string;

  private constructor(
    readonly names: NatsNames,
    readonly endpointId: string,
    readonly nc: NatsConnection,
    readonly gateway: TestGateway,
    private readonly options: AgentRigOptions,
  ) {
    this.stateDir = join(options.dir, 'state');
    this.logFile = join(options.dir, 'agent.log');
    this.agent = new PgcProcess(
      endpointId,
      [
        'agent',
        'run',
        '--endpoint',
        endpointId,
        '--server',
        gateway.address,
        '--nats',
        options.nats.url,
        '--state-dir',
        this.stateDir,
        '--log-level',
        'debug',
      ],
      { PGC_NATS_PREFIX: names.prefix, PGC_HEARTBEAT_INTERVAL_MS: '60000', ...options.env },
      this.logFile,
    );
  }

  static async start(options: AgentRigOptions): Promise<AgentRig> {
    mkdirSync(options.dir, { recursive: true });
    const names = natsNames(uniqueId('a'));
    const endpointId = uniqueId('ep');
    const nc = await connectNats({
      servers: options.nats.url,
      name: 'test-reader',
      log: silentLogger(),
      reconnectTimeWaitMs: 100,
    });
    const settings = {
      ...DEFAULT_STREAM_SETTINGS,
      logsMaxBytes: 64 * 1024 ** 2,
      ...options.streams,
    };
    const jsm = await jetstreamManager(nc);
    await ensureControlStreams(jsm, names, settings);
    if (options.bucket !== false)
      await ensureEndpointResources(nc, jsm, names, endpointId, settings);
    const gateway = await TestGateway.start();
    const rig = new AgentRig(names, endpointId, nc, gateway, options);
    rig.agent.start();
    await gateway.connected();
    return rig;
  }

  /** Creates the endpoint's bucket as the control plane does. */
  async createBucket(): Promise<void> {
    const settings = { ...DEFAULT_STREAM_SETTINGS, ...this.options.streams };
    await ensureEndpointResources(
      this.nc,
      await jetstreamManager(this.nc),
      this.names,
      this.endpointId,
      settings,
    );
  }

  /** Dispatches a job; throws unless the agent accepted it. */
  async run(spec: JobSpec): Promise<void> {
    const ack = await this.gateway.dispatch(spec);
    if (ack.outcome?.$case !== 'accepted')
      throw new Error(`dispatch rejected: ${JSON.stringify(ack.outcome)}`);
  }

  jobDir(key: JobKey): string {
    return join(this.stateDir, 'jobs', attemptId(key));
  }

  agentLog(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  /**
   * Reads a subject of a stream from its start until `done` says so (or the deadline passes):
   * an ordered consumer, as `pgc logs -f` would use.
   */
  async read<T>(
    stream: string,
    subject: string,
    decode: (data: Uint8Array) => T,
    done: (items: Array<Stored<T>>) => boolean,
    timeoutMs = 60_000,
  ): Promise<Array<Stored<T>>> {
    const consumer = await jetstream(this.nc).consumers.get(stream, { filter_subjects: subject });
    const messages = await consumer.consume({ max_messages: 256 });
    const items: Array<Stored<T>> = [];
    const timer = setTimeout(() => messages.stop(), timeoutMs);
    try {
      for await (const m of messages) {
        items.push(stored(m, decode(m.data)));
        if (done(items)) break;
      }
    } finally {
      clearTimeout(timer);
      messages.stop();
    }
    if (!done(items))
      throw new Error(
        `read ${items.length} messages of ${subject} within ${timeoutMs} ms, not all`,
      );
    return items;
  }

  /** Every chunk of a job's log until both streams ended (eof). */
  chunks(key: JobKey, timeoutMs = 60_000): Promise<Array<Stored<LogChunk>>> {
    const ended = (items: Array<Stored<LogChunk>>) =>
      new Set(
        items
          .filter((c) => c.value.eof && c.value.key?.attemptNr === key.attemptNr)
          .map((c) => c.value.stream),
      ).size === 2;
    return this.read(
      this.names.logsStream,
      this.names.jobLogs(this.endpointId, key.pandaId),
      (d) => LogChunk.decode(d),
      ended,
      timeoutMs,
    );
  }

  /** How many messages a stream holds on a subject. */
  async countStored(stream: string, subject: string): Promise<number> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(stream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  /** The job's result event, as stored. */
  async result(key: JobKey, timeoutMs = 60_000): Promise<Stored<JobResult>> {
    const events = await this.read(
      this.names.eventsStream,
      this.names.jobEvents(this.endpointId, key.pandaId),
      (d) => JobEvent.decode(d),
      (items) => items.some((e) => e.value.body?.$case === 'result'),
      timeoutMs,
    );
    const last = events.find((e) => e.value.body?.$case === 'result');
    if (last?.value.body?.$case !== 'result') throw new Error('no result');
    return { ...last, value: last.value.body.result };
  }

  /** An object of the endpoint's bucket with the time its metadata was stored; undefined if absent. */
  async object(name: string): Promise<Stored<Buffer> | undefined> {
    const bucket = this.names.bucket(this.endpointId);
    const store = await new Objm(this.nc).open(bucket);
    const info = await store.info(name);
    if (info === null) return undefined;
    const result = await store.get(name);
    if (result === null) return undefined;
    const parts: Uint8Array[] = [];
    for await (const part of result.data) parts.push(part);
    const meta = await (await jetstreamManager(this.nc)).streams.getMessage(`OBJ_${bucket}`, {
      seq: info.revision,
    });
    return {
      value: Buffer.concat(parts),
      storedAtMs: meta?.time.getTime() ?? 0,
      receivedAtMs: Date.now(),
    };
  }

  /** Kills the payloads of this endpoint (they outlive a killed agent by design). */
  killPayloads(): void {
    for (const [marker, processes] of processesByMarker(MARKER_VARIABLE)) {
      if (!marker.startsWith(`${this.endpointId}/`)) continue;
      for (const p of processes) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {}
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.agent.dispose();
    this.killPayloads();
    await this.gateway[Symbol.asyncDispose]();
    await this.nc.close();
  }
}
