/**
 * The NATS connection both sides use: it never gives up reconnecting (the nats.js default closes
 * the connection for good after 10 attempts per server, RELIABILITY.md §2.3), keeps trying after
 * authentication errors (credentials may be rotated), and logs every status change, including
 * permission violations that a core publish only reports asynchronously (stack.md pitfall 9).
 *
 * Seen here (nats.js 3.4, nats-server 2.9.10): a request made while the connection is down is
 * buffered, yet its reply can be lost after the reconnect; the request then times out. Callers
 * of JetStream APIs therefore use deadlines and retry, and durable publishes go through an outbox.
 */
import { type ConnectionOptions, connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { describeAuth, type NatsAuth } from './credentials.js';

export interface NatsConnectOptions {
  servers: string | string[];
  /** Shown in the server's monitoring, e.g. `pgc-agent bnl-gc-01`. */
  name: string;
  log: Logger;
  /** Replies arrive under this prefix; an agent's permissions allow only its own. */
  inboxPrefix?: string;
  /** Who to connect as (credentials.ts); the settings below are the older, plainer ways. */
  auth?: NatsAuth;
  user?: string;
  pass?: string;
  token?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Milliseconds between reconnect attempts (plus up to as much again of jitter). */
  reconnectTimeWaitMs?: number;
  /** Deadline for each connection handshake. */
  timeoutMs?: number;
}

export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const wait = options.reconnectTimeWaitMs ?? 1000;
  const nc = await connect({
    servers: options.servers,
    name: options.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    ignoreAuthErrorAbort: true,
    reconnectTimeWait: wait,
    reconnectJitter: wait,
    reconnectJitterTLS: wait,
    timeout: options.timeoutMs ?? 10_000,
    ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    ...(options.user ? { user: options.user, pass: options.pass } : {}),
    ...(options.token ? { token: options.token } : {}),
    ...authOptions(options.auth),
    ...(options.tls
      ? {
          tls: {
            caFile: options.tls.caFile,
            certFile: options.tls.certFile,
            keyFile: options.tls.keyFile,
          },
        }
      : {}),
  });
  void watchStatus(nc, options.log);
  options.log.info(
    { server: nc.getServer(), ...(options.auth ? describeAuth(options.auth) : {}) },
    'connected to NATS',
  );
  return nc;
}

function authOptions(auth: NatsAuth | undefined): Partial<ConnectionOptions> {
  switch (auth?.kind) {
    case undefined:
    case 'none':
      return {};
    case 'password':
      return { user: auth.user, pass: auth.pass };
    case 'nkey':
      return { authenticator: auth.authenticator };
  }
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'ping':
        log.trace({ pendingPings: status.pendingPings }, 'NATS ping');
        break;
      case 'reconnecting':
        log.debug('NATS reconnecting');
        break;
      case 'disconnect':
        log.warn({ server: status.server }, 'NATS disconnected; reconnecting');
        break;
      case 'reconnect':
        log.info({ server: status.server }, 'NATS reconnected');
        break;
      case 'error':
        log.error({ err: status.error }, 'NATS error');
        break;
      case 'staleConnection':
        log.warn('NATS connection stale; reconnecting');
        break;
      case 'slowConsumer':
        log.warn({ sub: status.sub.getSubject() }, 'NATS slow consumer');
        break;
      default:
        log.debug({ status: status.type }, 'NATS status');
    }
  }
}
