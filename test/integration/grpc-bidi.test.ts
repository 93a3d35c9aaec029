import type { ServerDuplexStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentGatewayClient,
  type AgentGatewayServer,
  AgentGatewayService,
  type AgentMessage,
  type ControlMessage,
} from '../../shared/gen/pgc/v1/gateway.js';
import {
  grpcChannelCredentials,
  grpcServerCredentials,
  loadTlsMaterial,
} from '../../shared/tls.js';
import { makeTestPki, type TestPki } from '../harness/certs.js';
import { startGrpcServer } from '../harness/grpc.js';
import { tempDir } from '../harness/temp.js';
import { nextWithin } from '../harness/wait.js';

/** A minimal gateway: welcomes a hello with the caller's certificate CN, answers pings. */
function echoGateway(seenPeers: string[]): AgentGatewayServer {
  return {
    connect(call: ServerDuplexStream<AgentMessage, ControlMessage>) {
      const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
      seenPeers.push(typeof cn === 'string' ? cn : 'none');
      call.on('data', (message: AgentMessage) => {
        switch (message.body?.$case) {
          case 'hello':
            call.write({
              body: {
                $case: 'welcome',
                welcome: {
                  sessionId: `s-${message.body.hello.endpointId}`,
                  epoch: 1,
                  pingIntervalMs: 1000,
                },
              },
            });
            break;
          case 'ping':
            call.write({ body: { $case: 'pong', pong: { atMs: message.body.ping.atMs } } });
            break;
          default:
            break;
        }
      });
      call.on('end', () => call.end());
    },
  };
}

async function helloRoundTrip(
  client: InstanceType<typeof AgentGatewayClient>,
): Promise<ControlMessage[]> {
  const stream = client.connect();
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<ControlMessage>;
  stream.write({
    body: {
      $case: 'hello',
      hello: { endpointId: 'ep1', agentVersion: 't', queues: ['Q'], attempts: [], instanceId: 'i' },
    },
  });
  const first = await nextWithin(iterator, 5000, 'welcome');
  stream.write({ body: { $case: 'ping', ping: { atMs: 77 } } });
  const second = await nextWithin(iterator, 5000, 'pong');
  stream.end();
  return [first, second];
}

describe('AgentGateway.Connect over loopback', () => {
  it('carries a hello/welcome and ping/pong exchange in plaintext', async () => {
    const peers: string[] = [];
    await using server = await startGrpcServer(
      grpcServerCredentials('127.0.0.1:0', undefined),
      (s) => s.addService(AgentGatewayService, echoGateway(peers)),
    );
    const client = new AgentGatewayClient(
      server.address,
      grpcChannelCredentials(server.address, undefined),
    );
    try {
      const [welcome, pong] = await helloRoundTrip(client);
      expect(welcome?.body).toEqual({
        $case: 'welcome',
        welcome: { sessionId: 's-ep1', epoch: 1, pingIntervalMs: 1000 },
      });
      expect(pong?.body).toEqual({ $case: 'pong', pong: { atMs: 77 } });
      expect(peers).toEqual(['none']);
    } finally {
      client.close();
    }
  });

  describe('with mutual TLS', () => {
    let dir: ReturnType<typeof tempDir>;
    let pki: TestPki;
    beforeAll(() => {
      dir = tempDir();
      pki = makeTestPki(dir.path);
    });
    afterAll(() => dir[Symbol.dispose]());

    async function mtlsServer(peers: string[]) {
      const material = loadTlsMaterial({
        caFile: pki.caFile,
        certFile: pki.server.certFile,
        keyFile: pki.server.keyFile,
      });
      return startGrpcServer(grpcServerCredentials('127.0.0.1:0', material), (s) =>
        s.addService(AgentGatewayService, echoGateway(peers)),
      );
    }

    it('works with a client certificate from the CA, and the server sees who the client is', async () => {
      const peers: string[] = [];
      await using server = await mtlsServer(peers);
      const agent = pki.client('bnl-gc-01');
      const material = loadTlsMaterial({
        caFile: pki.caFile,
        certFile: agent.certFile,
        keyFile: agent.keyFile,
      });
      const client = new AgentGatewayClient(
        `localhost:${server.port}`,
        grpcChannelCredentials(`localhost:${server.port}`, material),
      );
      try {
        const [welcome] = await helloRoundTrip(client);
        expect(welcome?.body?.$case).toBe('welcome');
        expect(peers).toEqual(['bnl-gc-01']);
      } finally {
        client.close();
      }
    });

    it('refuses clients without a certificate, with a foreign, a self-signed or an expired one', async () => {
      const peers: string[] = [];
      await using server = await mtlsServer(peers);
      const { credentials } = await import('@grpc/grpc-js');
      const attempts = {
        none: credentials.createSsl(pki.ca),
        foreign: credentials.createSsl(pki.ca, pki.foreignClient.key, pki.foreignClient.cert),
        selfSigned: credentials.createSsl(
          pki.ca,
          pki.selfSignedClient.key,
          pki.selfSignedClient.cert,
        ),
        expired: credentials.createSsl(pki.ca, pki.expiredClient.key, pki.expiredClient.cert),
      };
      for (const [name, creds] of Object.entries(attempts)) {
        const client = new AgentGatewayClient(`localhost:${server.port}`, creds);
        try {
          await expect(helloRoundTrip(client), `${name} certificate`).rejects.toThrow(
            /UNAVAILABLE|14/,
          );
        } finally {
          client.close();
        }
      }
      // No handler ever ran for a refused client.
      expect(peers).toEqual([]);
    });

    it('refuses a plaintext client', async () => {
      await using server = await mtlsServer([]);
      const client = new AgentGatewayClient(
        server.address,
        grpcChannelCredentials(server.address, undefined),
      );
      try {
        await expect(helloRoundTrip(client)).rejects.toThrow();
      } finally {
        client.close();
      }
    });
  });
});
