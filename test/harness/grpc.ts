/** gRPC servers for tests: bound to 127.0.0.1 on port 0, shut down on dispose. */
import { Server, type ServerCredentials } from '@grpc/grpc-js';

export interface TestGrpcServer extends AsyncDisposable {
  server: Server;
  port: number;
  address: string;
}

export async function startGrpcServer(
  credentials: ServerCredentials,
  register: (server: Server) => void,
): Promise<TestGrpcServer> {
  const server = new Server();
  register(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams a test left open must not hold the shutdown forever.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
