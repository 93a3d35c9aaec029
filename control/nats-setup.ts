/**
 * The control plane's NATS connection and its JetStream resources: the streams and the event
 * consumer are created (or updated) at start-up; only the control plane creates them (DESIGN.md).
 */
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../shared/logger.js';
import { connectNats } from '../shared/nats/connect.js';
import { natsAuth } from '../shared/nats/credentials.js';
import { ensureControlStreams } from '../shared/nats/streams.js';
import type { NatsNames } from '../shared/nats/subjects.js';
import type { ControlConfig } from './config.js';
import { withRetries } from './retry.js';

export async function openNats(
  config: ControlConfig,
  names: NatsNames,
  log: Logger,
): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  // connectNats waits for the server however long it takes; say what we wait for.
  log.info({ url: config.nats.url }, 'connecting to NATS');
  const nc = await connectNats({
    servers: config.nats.url,
    name: `pgc-control ${config.schedulerId}`,
    log,
    auth: natsAuth(config.nats, log),
  });
  try {
    const jsm = await withRetries('JetStream', () => jetstreamManager(nc, { timeout: 5000 }), log);
    await withRetries(
      'creating the streams',
      () => ensureControlStreams(jsm, names, config.nats.streams),
      log,
    );
    return { nc, jsm };
  } catch (err) {
    await nc.close();
    throw err;
  }
}
