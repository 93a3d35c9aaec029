/**
 * The admin verbs' connection to the control plane's Admin service: where (--server, PGC_ADDR),
 * how (plaintext on loopback, or TLS: with an admin certificate, or with only the CA when a
 * token proves who calls, shared/tls.ts), as whom (--token, PGC_TOKEN, sent as
 * `authorization: Bearer <token>` on every call), and one translation of gRPC failures into
 * one-line messages a person can act on.
 */
import { type ClientReadableStream, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { ORIGIN_METADATA } from '../../control/admin/calls.js';
import { FailureCode, PgcError, ValidationError } from '../../shared/errors.js';
import {
  AdminClient,
  type DataChunk,
  type DrainResponse,
  type FetchObjectRequest,
  type JobDetail,
  type KillRequest,
  type KillResponse,
  type ListEndpointsResponse,
  type ListJobsRequest,
  type ListJobsResponse,
  type StreamLogsRequest,
} from '../../shared/gen/pgc/v1/admin.js';
import type { LogChunk } from '../../shared/gen/pgc/v1/events.js';
import { grpcChannelCredentials, loadCaFile, loadTlsMaterial } from '../../shared/tls.js';

/** The flags every admin verb takes (cli/options.ts adminOptions). */
export interface AdminFlags {
  server: string;
  json?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  token?: string;
  insecure?: boolean;
}

const UNARY_DEADLINE_MS = 15_000;

/** A failed admin call; its message is the line pgc prints (exit status 1). */
export class AdminCallError extends PgcError {
  override name = 'AdminCallError';
}

export function explain(err: unknown, server: string): Error {
  if (!isServiceError(err)) return err instanceof Error ? err : new Error(String(err));
  const fromServer = err.metadata?.get(ORIGIN_METADATA).length > 0;
  if (err.code === status.UNAVAILABLE && !fromServer)
    return new AdminCallError(
      FailureCode.UNAVAILABLE,
      `cannot reach the control plane at ${server}: ${lastError(err.details)}`,
    );
  // The server judged the request malformed: bad usage, exit status 2 like commander's.
  if (err.code === status.INVALID_ARGUMENT) return new ValidationError(err.details);
  if (err.code === status.DEADLINE_EXCEEDED)
    return new AdminCallError(
      FailureCode.TIMEOUT,
      `the control plane at ${server} did not answer in time: ${err.details}`,
    );
  if (err.code === status.UNAUTHENTICATED)
    return new AdminCallError(
      FailureCode.PERMISSION_DENIED,
      `not authenticated: ${err.details} (the control plane at ${server})`,
    );
  if (err.code === status.PERMISSION_DENIED)
    return new AdminCallError(FailureCode.PERMISSION_DENIED, `permission denied: ${err.details}`);
  return new AdminCallError(FailureCode.INTERNAL, err.details || `gRPC status ${err.code}`);
}

/** The client's TLS: a certificate and key when given, else only the CA (a token user). */
function clientTls(flags: AdminFlags) {
  if (flags.tlsCert || flags.tlsKey)
    return loadTlsMaterial({ caFile: flags.tlsCa, certFile: flags.tlsCert, keyFile: flags.tlsKey });
  return flags.tlsCa ? { ca: loadCaFile(flags.tlsCa) } : undefined;
}

/** grpc-js says "No connection established. Last error: Error: connect ECONNREFUSED …": the cause is enough. */
function lastError(details: string): string {
  const cause = /Last error: (?:Error: )?(.*?)(?:\.? Resolution note:.*)?$/s.exec(details)?.[1];
  return (cause ?? details).trim();
}

function isServiceError(err: unknown): err is ServiceError & { metadata: Metadata } {
  return typeof err === 'object' && err !== null && 'code' in err && 'details' in err;
}

type Callback<Res> = (err: ServiceError | null, response?: Res) => void;
export class AdminConnection {
  private readonly client: AdminClient;

  constructor(readonly flags: AdminFlags) {
    this.client = new AdminClient(
      flags.server,
      grpcChannelCredentials(flags.server, clientTls(flags), flags.insecure === true),
    );
  }

  /**
   * Each call's metadata. The token goes as plain metadata rather than grpc-js call credentials,
   * which refuse a plaintext channel: on loopback without TLS a token is still how a configured
   * control plane knows who calls (plaintext to another host needs --insecure, shared/tls.ts).
   */
  private metadata(): Metadata {
    const metadata = new Metadata();
    if (this.flags.token) metadata.set('authorization', `Bearer ${this.flags.token}`);
    return metadata;
  }

  listEndpoints(): Promise<ListEndpointsResponse> {
    return this.unary((o, cb) => this.client.listEndpoints({}, this.metadata(), o, cb));
  }

  listJobs(request: ListJobsRequest): Promise<ListJobsResponse> {
    return this.unary((o, cb) => this.client.listJobs(request, this.metadata(), o, cb));
  }

  getJob(pandaId: number): Promise<JobDetail> {
    return this.unary((o, cb) => this.client.getJob({ pandaId }, this.metadata(), o, cb));
  }

  kill(request: KillRequest): Promise<KillResponse> {
    return this.unary((o, cb) => this.client.kill(request, this.metadata(), o, cb));
  }

  drain(endpointId: string, drained: boolean): Promise<DrainResponse> {
    return this.unary((o, cb) =>
      drained
        ? this.client.drain({ endpointId }, this.metadata(), o, cb)
        : this.client.undrain({ endpointId }, this.metadata(), o, cb),
    );
  }

  streamLogs(request: StreamLogsRequest): AsyncGenerator<LogChunk> {
    return this.stream(this.client.streamLogs(request, this.metadata()));
  }

  fetchObject(request: FetchObjectRequest): AsyncGenerator<DataChunk> {
    return this.stream(this.client.fetchObject(request, this.metadata()));
  }

  /** A unary call with a deadline; failures come back explained. */
  private unary<Res>(start: (options: { deadline: Date }, callback: Callback<Res>) => unknown) {
    const deadline = new Date(Date.now() + UNARY_DEADLINE_MS);
    return new Promise<Res>((resolve, reject) => {
      start({ deadline }, (err, response) => {
        if (err) reject(explain(err, this.flags.server));
        else resolve(response as Res);
      });
    });
  }

  /** The messages of a server stream; a failure is thrown explained. */
  private async *stream<T>(call: ClientReadableStream<T>): AsyncGenerator<T> {
    try {
      for await (const message of call) yield message as T;
    } catch (err) {
      throw explain(err, this.flags.server);
    } finally {
      call.cancel();
    }
  }

  close(): void {
    this.client.close();
  }
}

/** Runs `fn` with a connection that is closed afterwards. */
export async function withAdmin<T>(
  flags: AdminFlags,
  fn: (admin: AdminConnection) => Promise<T>,
): Promise<T> {
  const admin = new AdminConnection(flags);
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}
