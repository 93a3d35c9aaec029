/**
 * What the authentication tests share: a control-plane logger whose lines the test reads, raw
 * Admin and Health calls with given credentials (each returning its gRPC status, so a test can
 * assert the exact denial), and an agent stream's outcome.
 */
import { Writable } from 'node:stream';
import { type ChannelCredentials, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { HealthClient } from '../../../shared/gen/grpc/health/v1/health.js';
import { AdminClient, type ListEndpointsResponse } from '../../../shared/gen/pgc/v1/admin.js';
import { createLogger, type Logger } from '../../../shared/logger.js';
import type { CertPair } from '../../harness/certs.js';
import { TestAgent, type TestAgentOptions } from './harness.js';

export interface CapturedLog {
  log: Logger;
  /** Every line logged so far, parsed. */
  lines: () => Array<Record<string, unknown>>;
  /** Lines whose message is `msg`. */
  find: (msg: string) => Array<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = createLogger({ name: 'pgc-control', level: 'info', destination });
  const lines = (): Array<Record<string, unknown>> =>
    raw
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, find: (msg) => lines().filter((l) => l.msg === msg) };
}

/** Channel credentials: TLS trusting `ca`, with a client certificate when one is given. */
export function tlsCredentials(ca: Buffer, pair?: CertPair): ChannelCredentials {
  return pair ? credentials.createSsl(ca, pair.key, pair.cert) : credentials.createSsl(ca);
}

/** `localhost:<port>` of a control plane's 127.0.0.1 address: the server certificate names it. */
export function byName(address: string): string {
  return address.replace(/^127\.0\.0\.1:/, 'localhost:');
}

export type Outcome<T> = { ok: T } | { code: number; details: string };

function settle<T>(
  start: (cb: (err: ServiceError | null, response?: T) => void) => void,
): Promise<Outcome<T>> {
  return new Promise((resolve) =>
    start((err, response) =>
      resolve(err ? { code: err.code, details: err.details } : { ok: response as T }),
    ),
  );
}

function bearer(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** One-shot Admin calls with the given credentials and optional token. */
export function adminAs(address: string, creds: ChannelCredentials, token?: string) {
  const deadline = () => ({ deadline: new Date(Date.now() + 10_000) });
  const call = <T>(
    fn: (client: AdminClient, cb: (e: ServiceError | null, r?: T) => void) => void,
  ) => {
    const client = new AdminClient(address, creds);
    return settle<T>((cb) => fn(client, cb)).finally(() => client.close());
  };
  return {
    listEndpoints: () =>
      call<ListEndpointsResponse>((c, cb) => c.listEndpoints({}, bearer(token), deadline(), cb)),
    kill: (pandaId: number) =>
      call((c, cb) =>
        c.kill({ pandaIds: [pandaId], reason: 'auth test' }, bearer(token), deadline(), cb),
      ),
    drain: (endpointId: string) =>
      call((c, cb) => c.drain({ endpointId }, bearer(token), deadline(), cb)),
  };
}

/** A Health Check with the given credentials. */
export function healthAs(address: string, creds: ChannelCredentials): Promise<Outcome<unknown>> {
  const client = new HealthClient(address, creds);
  return settle((cb) =>
    client.check({ service: '' }, new Metadata(), { deadline: new Date(Date.now() + 10_000) }, cb),
  ).finally(() => client.close());
}

/** Opens an agent stream; resolves with the agent, or with the status that ended the stream. */
export async function connectAgent(
  options: TestAgentOptions,
  dispose: (fn: () => unknown) => void,
): Promise<{ agent: TestAgent } | { failure: string }> {
  const agent = new TestAgent(options);
  dispose(() => agent.dispose());
  try {
    await agent.open();
    return { agent };
  } catch (err) {
    return { failure: String(err) };
  }
}
