/**
 * The control plane's side of `AgentGateway.Connect` (docs/protocol.md). The first message must
 * be Hello. Before answering Welcome the control plane checks the endpoint id (and, over mutual
 * TLS, that it is the one the certificate names, pgc:agent:<id>), keeps only the queues the endpoint may serve, creates
 * the endpoint's NATS resources, persists its new epoch and reconciles. Messages of a stream are
 * handled one at a time, in order.
 */
import { status } from '@grpc/grpc-js';
import { agentIdentityUri, type IdentityReading } from '../shared/cert-identity.js';
import { describeError } from '../shared/errors.js';
import type { JobKey } from '../shared/gen/pgc/v1/common.js';
import { KillReason } from '../shared/gen/pgc/v1/common.js';
import type {
  AgentGatewayServer,
  AgentMessage,
  AgentStats,
  AttemptState,
  Hello,
} from '../shared/gen/pgc/v1/gateway.js';
import { validateId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { type AgentCall, AgentSession } from './agent-session.js';
import { mayServe, type QueueConfig } from './config.js';
import type { ControlStore } from './control-store.js';
import type { Dispatcher } from './dispatcher.js';
import type { EndpointRegistry } from './endpoint-registry.js';
import { killCommandId } from './job-transition.js';
import { killCommand } from './outbox.js';
import { planReconcile, type ReconcileMode } from './reconcile.js';

/** What reconciling needs from the event consumer (events-consumer.ts). */
export interface EventProgress {
  /** The events stream's last sequence now; undefined when it cannot be read. */
  lastSequence(): Promise<number | undefined>;
  /** Resolves once every event up to `sequence` has been applied and acknowledged. */
  waitCaughtUp(sequence: number, signal: AbortSignal): Promise<void>;
}

export interface GatewayOptions {
  queues: readonly QueueConfig[];
  /** Mutual TLS: the Hello's endpoint id must be the client certificate's (pgc:agent:<id>). */
  requireCertificateIdentity: boolean;
  pingIntervalMs: number;
  silenceTimeoutMs: number;
  /** Creates the endpoint's command consumer and bucket (idempotent, with a deadline). */
  ensureEndpoint: (endpointId: string) => Promise<void>;
  onEndpointChange: () => void;
  /** An agent's counters, sent with its pings (per-endpoint metrics). */
  onAgentStats?: (endpointId: string, stats: AgentStats) => void;
  log: Logger;
  now: () => number;
}

const HELLO_TIMEOUT_MS = 10_000;

export class Gateway {
  private readonly stopping = new AbortController();

  constructor(
    private readonly store: ControlStore,
    private readonly registry: EndpointRegistry,
    private readonly dispatcher: Dispatcher,
    private readonly events: EventProgress,
    private readonly options: GatewayOptions,
  ) {}

  /** The grpc-js service implementation. */
  service(): AgentGatewayServer {
    return { connect: (call: AgentCall) => this.connect(call) };
  }

  /** Stops deferred reconcile work (sessions are closed by the server's shutdown). */
  stop(): void {
    this.stopping.abort();
  }

  private connect(call: AgentCall): void {
    const { log, now } = this.options;
    const session = new AgentSession(call, now());
    let chain: Promise<void> = Promise.resolve();
    const helloTimer = setTimeout(
      () => session.close({ code: status.DEADLINE_EXCEEDED, details: 'no Hello in time' }),
      HELLO_TIMEOUT_MS,
    );
    const silenceTimer = setInterval(() => {
      if (now() - session.lastMessageAtMs > this.options.silenceTimeoutMs) {
        log.warn({ endpointId: session.endpointId }, 'agent stream silent too long; closing it');
        session.close({ code: status.UNAVAILABLE, details: 'no ping from the agent in time' });
      }
    }, this.options.pingIntervalMs);
    session.onClose(() => {
      clearTimeout(helloTimer);
      clearInterval(silenceTimer);
      void this.registry
        .detach(session)
        .catch((err: unknown) => log.error({ err }, 'recording a disconnect failed'))
        .finally(() => this.options.onEndpointChange());
    });
    call.on('data', (message: AgentMessage) => {
      session.lastMessageAtMs = now();
      chain = chain
        .then(() => this.onMessage(session, message))
        .catch((err: unknown) => {
          log.error(
            { err, endpointId: session.endpointId },
            'agent message failed; closing the stream',
          );
          session.close({ code: status.INTERNAL, details: describeError(err) });
        });
    });
    call.on('end', () => session.close());
    call.on('cancelled', () => session.close());
    call.on('error', () => session.close());
    call.on('close', () => session.close());
    call.once('data', () => clearTimeout(helloTimer));
  }

  private async onMessage(session: AgentSession, message: AgentMessage): Promise<void> {
    if (session.closed) return;
    const body = message.body;
    if (body?.$case !== 'hello' && session.state === 'hello') {
      session.close({
        code: status.FAILED_PRECONDITION,
        details: 'the first message must be Hello',
      });
      return;
    }
    switch (body?.$case) {
      case 'hello':
        if (session.state !== 'hello') {
          session.close({ code: status.FAILED_PRECONDITION, details: 'Hello sent twice' });
          return;
        }
        await this.hello(session, body.hello);
        return;
      case 'dispatchAck':
        await this.dispatcher.onAck(session, body.dispatchAck);
        return;
      case 'capacity':
        if (body.capacity.capacity) session.capacity = body.capacity.capacity;
        this.options.onEndpointChange();
        return;
      case 'ping':
        session.send({ body: { $case: 'pong', pong: { atMs: body.ping.atMs } } });
        if (body.ping.stats) this.options.onAgentStats?.(session.endpointId, body.ping.stats);
        return;
      case 'reconcile':
        // Never interleaved with a new stream's Hello of the same endpoint.
        await this.registry.exclusive(session.endpointId, async () => {
          if (!session.closed) await this.reconcile(session, body.reconcile.attempts, 'reconcile');
        });
        return;
      case undefined:
        return;
    }
  }

  private async hello(session: AgentSession, hello: Hello): Promise<void> {
    const { log, now } = this.options;
    let endpointId: string;
    try {
      endpointId = validateId('endpoint id', hello.endpointId);
    } catch (err) {
      session.close({ code: status.INVALID_ARGUMENT, details: (err as Error).message });
      return;
    }
    if (this.options.requireCertificateIdentity) {
      // The auth interceptor admitted only agent certificates; checked again here, because this
      // is where the claim in the Hello meets the certificate. Refused before anything changes.
      const certified = certifiedEndpoint(session.peerIdentity());
      if (certified !== endpointId) {
        log.warn(
          { endpointId, certificate: certified ?? 'no agent identity', peer: session.peer },
          'Hello names another endpoint than its certificate; refused',
        );
        session.close({
          code: status.PERMISSION_DENIED,
          details: `endpoint ${endpointId} does not match the client certificate (${certified ? agentIdentityUri(certified) : 'no agent identity'})`,
        });
        return;
      }
    }
    session.endpointId = endpointId;
    session.instanceId = hello.instanceId;
    session.agentVersion = hello.agentVersion;
    if (hello.capacity) session.capacity = hello.capacity;
    session.queues = this.options.queues
      .filter((q) => hello.queues.includes(q.name) && mayServe(q, endpointId))
      .map((q) => q.name);
    const refused = hello.queues.filter((q) => !session.queues.includes(q));
    if (refused.length > 0)
      log.warn({ endpointId, queues: refused }, 'the endpoint offers queues it may not serve here');

    await this.registry.exclusive(endpointId, async () => {
      if (session.closed) return;
      session.state = 'reconciling';
      this.registry.attach(session);
      try {
        await this.options.ensureEndpoint(endpointId);
      } catch (err) {
        log.warn({ endpointId, err: describeError(err) }, 'cannot prepare the endpoint in NATS');
        session.close({
          code: status.UNAVAILABLE,
          details: `NATS is not ready: ${describeError(err)}`,
        });
        return;
      }
      const epoch = (this.store.endpoints.get(endpointId)?.epoch ?? 0) + 1;
      await this.store.saveEndpoint({
        endpointId,
        epoch,
        agentVersion: hello.agentVersion,
        queues: session.queues,
        slotsTotal: session.capacity.slotsTotal,
        lastSeenMs: now(),
      });
      session.epoch = epoch;
      await this.reconcile(session, hello.attempts, 'hello');
      const welcome = {
        sessionId: session.sessionId,
        epoch,
        pingIntervalMs: this.options.pingIntervalMs,
      };
      if (session.closed || !session.send({ body: { $case: 'welcome', welcome } })) return;
      session.state = 'live';
      log.info(
        {
          endpointId,
          epoch,
          queues: session.queues,
          capacity: session.capacity,
          version: hello.agentVersion,
        },
        'endpoint connected',
      );
    });
    this.options.onEndpointChange();
  }

  private async reconcile(
    session: AgentSession,
    held: AttemptState[],
    mode: ReconcileMode,
  ): Promise<void> {
    const { endpointId } = session;
    const at = this.options.now();
    // Read before the journal is judged: every result the agent published before it sent this
    // journal is in the stream up to here (reconcile.ts).
    const sequence = await this.events.lastSequence();
    const plan = planReconcile(
      endpointId,
      held,
      this.store.bound(endpointId),
      (id) => this.store.get(id),
      mode,
    );
    if (plan.requeue.length > 0) {
      this.options.log.info(
        { endpointId, jobs: plan.requeue.map((k) => k.pandaId) },
        'lost dispatches queued again',
      );
      await this.store.applyMany(
        plan.requeue.map((key) => ({ key, event: { type: 'not-held', at, endpointId } })),
      );
    }
    if (plan.fence.length > 0) {
      this.options.log.warn(
        { endpointId, jobs: plan.fence.map((k) => k.pandaId) },
        'fencing attempts nobody waits for',
      );
      await this.store.addCommands(plan.fence.map((key) => fence(key, endpointId, at)));
    }
    if (plan.lost.length > 0) void this.settleLost(endpointId, plan.lost, sequence);
  }

  /** Fails attempts the agent lost, once no result of theirs can still be in the stream. */
  private async settleLost(
    endpointId: string,
    keys: JobKey[],
    sequence: number | undefined,
  ): Promise<void> {
    const { log, now } = this.options;
    try {
      if (sequence === undefined) {
        log.warn(
          { endpointId },
          'cannot read the events stream; lost attempts are judged at the next reconcile',
        );
        return;
      }
      await this.events.waitCaughtUp(sequence, this.stopping.signal);
      const at = now();
      const results = await this.store.applyMany(
        keys.map((key) => ({ key, event: { type: 'not-held', at, endpointId } })),
      );
      const failed = keys.filter((_, i) => results[i]?.applied).map((k) => k.pandaId);
      if (failed.length > 0)
        log.warn({ endpointId, jobs: failed }, 'the agent lost these attempts: failed LOST');
    } catch (err) {
      if (!this.stopping.signal.aborted)
        log.error({ err, endpointId }, 'settling lost attempts failed');
    }
  }
}

/** The endpoint an agent certificate speaks for; undefined for anything else. */
function certifiedEndpoint(reading: IdentityReading | undefined): string | undefined {
  if (reading === undefined || !('identity' in reading)) return undefined;
  return reading.identity.kind === 'agent' ? reading.identity.endpointId : undefined;
}

function fence(key: JobKey, endpointId: string, at: number) {
  const message = 'fenced: the control plane does not expect this attempt to run here';
  return killCommand(
    key,
    endpointId,
    KillReason.FENCE,
    message,
    killCommandId(KillReason.FENCE, endpointId, key),
    at,
  );
}
