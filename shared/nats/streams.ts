/**
 * Idempotent creation of the JetStream resources named in DESIGN.md. Only the control plane
 * calls these (agents have no JetStream admin permissions, issue #7); calling them again with
 * the same settings changes nothing, with new settings updates the stream in place.
 */
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { Objm, StorageType as ObjStorageType } from '@nats-io/obj';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import type { NatsNames } from './subjects.js';

export interface StreamSettings {
  /** Nats-Msg-Id dedup window of the events stream. */
  duplicateWindowMs: number;
  /** How long events are kept. */
  eventsMaxAgeMs: number;
  /** How long commands are kept for an agent that is offline. */
  commandsMaxAgeMs: number;
  /** How long log chunks are kept after they were written. */
  logsMaxAgeMs: number;
  /** Bytes all log chunks may take together; the oldest are dropped first. */
  logsMaxBytes: number;
  /** Largest message the streams accept (chunks and results are sized below it). */
  maxMessageBytes: number;
  /** Redeliveries of one event before it is given up (RELIABILITY.md test 39). */
  eventsMaxDeliver: number;
  /** How long the control plane may hold an event before it is redelivered. */
  eventsAckWaitMs: number;
  replicas: number;
}

export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  duplicateWindowMs: 2 * 60_000,
  eventsMaxAgeMs: 7 * 24 * 3_600_000,
  commandsMaxAgeMs: 7 * 24 * 3_600_000,
  logsMaxAgeMs: 7 * 24 * 3_600_000,
  logsMaxBytes: 10 * 1024 ** 3,
  maxMessageBytes: 1024 * 1024,
  eventsMaxDeliver: 20,
  eventsAckWaitMs: 30_000,
  replicas: 1,
};

function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === 10059 || err.code === 10014);
}

/** Creates the stream, or updates it when its settings differ. */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    const info = await jsm.streams.info(config.name);
    const current = info.config as unknown as Record<string, unknown>;
    const changed = Object.entries(config).some(
      ([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v),
    );
    if (changed) await jsm.streams.update(config.name, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(config);
  }
}

/** Creates the durable consumer, or updates it when its settings differ. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  try {
    const info = await jsm.consumers.info(stream, config.durable_name);
    const current = info.config as unknown as Record<string, unknown>;
    const changed = Object.entries(config).some(
      ([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v),
    );
    if (changed) await jsm.consumers.update(stream, config.durable_name, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, config);
  }
}

/** The three streams and the control plane's durable event consumer. */
export async function ensureControlStreams(
  jsm: JetStreamManager,
  names: NatsNames,
  settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
): Promise<void> {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: settings.replicas,
    max_msg_size: settings.maxMessageBytes,
    duplicate_window: nanos(settings.duplicateWindowMs),
  };
  await ensureStream(jsm, {
    ...common,
    name: names.eventsStream,
    subjects: [names.eventsAll()],
    max_age: nanos(settings.eventsMaxAgeMs),
    discard: DiscardPolicy.Old,
  });
  await ensureStream(jsm, {
    ...common,
    name: names.commandsStream,
    subjects: [names.commandsAll()],
    max_age: nanos(settings.commandsMaxAgeMs),
    discard: DiscardPolicy.Old,
  });
  await ensureStream(jsm, {
    ...common,
    name: names.logsStream,
    subjects: [names.logsAll()],
    max_age: nanos(settings.logsMaxAgeMs),
    max_bytes: settings.logsMaxBytes,
    discard: DiscardPolicy.Old,
  });
  await ensureConsumer(jsm, names.eventsStream, {
    durable_name: names.controlEventsConsumer,
    filter_subject: names.eventsAll(),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(settings.eventsAckWaitMs),
    max_deliver: settings.eventsMaxDeliver,
    max_ack_pending: 1000,
  });
}

/** One agent's durable command consumer and its object-store bucket. */
export async function ensureEndpointResources(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: NatsNames,
  endpointId: string,
  settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
): Promise<void> {
  await ensureConsumer(jsm, names.commandsStream, {
    durable_name: names.commandConsumer(endpointId),
    filter_subject: names.commands(endpointId),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
  });
  await new Objm(nc).create(names.bucket(endpointId), {
    storage: ObjStorageType.File,
    replicas: settings.replicas,
  });
}
