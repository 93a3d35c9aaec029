/**
 * The control plane's gRPC server: AgentGateway, Admin and grpc.health.v1.Health on one port,
 * behind the same credentials, with keepalive settings for long-lived agent streams
 * (RELIABILITY.md §3.2): the server pings idle connections every 30 s and drops those that do
 * not answer within 10 s, so half-open streams end and their endpoints' leases start.
 * Interceptors see every call of every service (admin roles, issue #7, go there).
 */
import {
  Server,
  type ServerCredentials,
  type ServerInterceptor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

const SERVER_OPTIONS = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Agents ping every ~10 s. grpc-js 1.14 does not enforce a minimum, but a proxy in front of
  // the control plane would: state the one we accept.
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.enable_channelz': 0,
};

export interface RunningServer {
  /** host:port as agents dial it (the bound port when `listen` asked for port 0). */
  address: string;
  /** Stops accepting, ends open streams via `closeStreams`, forces the rest after 2 s. */
  shutdown(closeStreams: () => void): Promise<void>;
}

/** One service to serve: its generated definition and its implementation. */
export interface ServiceBinding {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export async function startGrpcServer(
  listen: string,
  credentials: ServerCredentials,
  services: readonly ServiceBinding[],
  interceptors: readonly ServerInterceptor[] = [],
): Promise<RunningServer> {
  const server = new Server({ ...SERVER_OPTIONS, interceptors: [...interceptors] });
  for (const s of services) server.addService(s.definition, s.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    address: listen.replace(/:\d+$/, `:${port}`),
    shutdown: (closeStreams) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
        // Open streams would hold tryShutdown until the timer: end them now.
        closeStreams();
      }),
  };
}
