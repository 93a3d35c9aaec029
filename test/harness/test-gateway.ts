/**
 * The control plane's side of `AgentGateway.Connect`, reduced to what agent tests need: it
 * welcomes an agent, answers pings and sends the dispatches a test asks for, so a real
 * `pgc agent run` process can be driven without PanDA, a scheduler or the control plane's store.
 * (test/integration/control/test-agent.ts is the same idea from the other side.)
 */
import { ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  AgentGatewayService,
  type AgentMessage,
  type ControlMessage,
  type DispatchAck,
  type Hello,
} from '../../shared/gen/pgc/v1/gateway.js';
import type { JobSpec } from '../../shared/gen/pgc/v1/job.js';
import { startGrpcServer, type TestGrpcServer } from './grpc.js';
import { waitFor } from './wait.js';

type Stream = ServerDuplexStream<AgentMessage, ControlMessage>;

export class TestGateway implements AsyncDisposable {
  readonly hellos: Hello[] = [];
  private stream: Stream | undefined;
  private epoch = 0;
  private nextDispatch = 1;
  private readonly acks = new Map<string, (ack: DispatchAck) => void>();

  private constructor(private readonly grpc: TestGrpcServer) {}

  static async start(): Promise<TestGateway> {
    let gateway: TestGateway | undefined;
    const grpc = await startGrpcServer(ServerCredentials.createInsecure(), (server) => {
      server.addService(AgentGatewayService, {
        connect: (call: Stream) => gateway?.onStream(call),
      });
    });
    gateway = new TestGateway(grpc);
    return gateway;
  }

  get address(): string {
    return this.grpc.address;
  }

  private onStream(call: Stream): void {
    call.on('data', (message: AgentMessage) => {
      const body = message.body;
      switch (body?.$case) {
        case 'hello':
          this.hellos.push(body.hello);
          this.stream?.end();
          this.stream = call;
          call.write({
            body: {
              $case: 'welcome',
              welcome: { sessionId: `s${this.epoch}`, epoch: ++this.epoch, pingIntervalMs: 1000 },
            },
          });
          break;
        case 'ping':
          call.write({ body: { $case: 'pong', pong: { atMs: Date.now() } } });
          break;
        case 'dispatchAck':
          this.acks.get(body.dispatchAck.dispatchId)?.(body.dispatchAck);
          break;
        default:
          break;
      }
    });
    const gone = () => {
      if (this.stream === call) this.stream = undefined;
    };
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('error', gone);
    call.on('cancelled', gone);
  }

  /** Resolves once an agent is connected and welcomed. */
  async connected(timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.stream !== undefined, { what: 'an agent to connect', timeoutMs });
  }

  /** Sends a job to the connected agent; resolves with its ack. */
  async dispatch(spec: JobSpec, timeoutMs = 30_000): Promise<DispatchAck> {
    await this.connected(timeoutMs);
    const dispatchId = `d${this.nextDispatch++}`;
    const acked = new Promise<DispatchAck>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ack for dispatch ${dispatchId} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.acks.set(dispatchId, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
    });
    this.stream?.write({ body: { $case: 'dispatch', dispatch: { dispatchId, spec } } });
    return acked;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.stream?.end();
    await this.grpc[Symbol.asyncDispose]();
  }
}
