/**
 * The control plane: pulls jobs from PanDA, dispatches them to agents over gRPC, applies their
 * events from JetStream and reports to PanDA (DESIGN.md). This file only wires the parts and
 * owns the lifecycle (HOUSE_STYLE, Temporal's worker states):
 *
 *   starting ──start() done──▶ running ──stop()──▶ draining ──▶ stopped
 *       └──────────start() failed──────────────────────────────▶ failed
 *
 * On start it reconciles before it pulls: pollers only acquire for capacity of endpoints that
 * have said Hello and been reconciled (RELIABILITY.md test 40).
 */
import { hostname } from 'node:os';
import { AdminTokens } from '../shared/admin-token.js';
import { FailureCode, PgcError } from '../shared/errors.js';
import { HealthService } from '../shared/gen/grpc/health/v1/health.js';
import { AdminService } from '../shared/gen/pgc/v1/admin.js';
import { type JobKey, KillReason } from '../shared/gen/pgc/v1/common.js';
import { AgentGatewayService } from '../shared/gen/pgc/v1/gateway.js';
import type { Logger } from '../shared/logger.js';
import { type MetricsServer, startMetricsServer } from '../shared/metrics-server.js';
import { ensureEndpointResources } from '../shared/nats/streams.js';
import { natsNames } from '../shared/nats/subjects.js';
import { grpcServerCredentials, loadClientTls, loadTlsMaterial } from '../shared/tls.js';
import { adminService } from './admin/admin-service.js';
import { HealthStatus, ServingStatus } from './admin/health.js';
import { authInterceptor } from './auth/auth-interceptor.js';
import { authPolicy } from './auth/authorize.js';
import { CommandPublisher } from './command-publisher.js';
import { type ControlConfig, defaultControlStateDir, inputUrlTemplates } from './config.js';
import { ControlMetrics } from './control-metrics.js';
import { ControlStore } from './control-store.js';
import { Dispatcher, queuedJob } from './dispatcher.js';
import { EndpointRegistry } from './endpoint-registry.js';
import { EventsConsumer } from './events-consumer.js';
import { Gateway } from './gateway.js';
import { startGrpcServer } from './grpc-server.js';
import { heartbeatCheckMs, sendDueHeartbeats } from './heartbeats.js';
import { JobIntake } from './job-intake.js';
import { type JobRecord, recordId } from './job-record.js';
import type { Transition } from './job-transition.js';
import { LeaseKeeper } from './lease-keeper.js';
import { openNats } from './nats-setup.js';
import { PandaClient } from './panda/client.js';
import { createPollers } from './panda-poller.js';
import { Periodic } from './periodic.js';
import { reportPolicy } from './report-policy.js';
import { Reporter } from './reporter.js';
import { withDeadline } from './retry.js';
import { freeCapacity } from './scheduler.js';
import { pollStatuses } from './status-poller.js';

export type ControlPlaneState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export interface ControlPlaneDeps {
  log: Logger;
  /** The clock; injected by tests. */
  now?: () => number;
}

export class ControlPlane {
  private current: ControlPlaneState = 'starting';
  private readonly log: Logger;
  /** Parts bind their own `component` to this one. */
  private readonly baseLog: Logger;
  private readonly now: () => number;
  private readonly stops: Array<() => Promise<unknown> | unknown> = [];
  private stopping: Promise<void> | undefined;
  private store!: ControlStore;
  private registry!: EndpointRegistry;
  private address = '';
  private metrics: MetricsServer | undefined;
  private health: HealthStatus | undefined;

  private constructor(
    readonly config: ControlConfig,
    deps: ControlPlaneDeps,
  ) {
    this.baseLog = deps.log;
    this.log = deps.log.child({ component: 'control' });
    this.now = deps.now ?? Date.now;
  }

  /** Starts every part; throws (state `failed`, everything closed again) if one cannot start. */
  static async start(config: ControlConfig, deps: ControlPlaneDeps): Promise<ControlPlane> {
    const cp = new ControlPlane(config, deps);
    try {
      await cp.boot();
    } catch (err) {
      cp.current = 'failed';
      await cp.teardown();
      throw err;
    }
    cp.current = 'running';
    cp.health?.setAll(ServingStatus.SERVING);
    cp.log.info(
      { grpc: cp.address, queues: config.queues.map((q) => q.name) },
      'control plane running',
    );
    return cp;
  }

  get state(): ControlPlaneState {
    return this.current;
  }

  /** host:port agents dial (the bound port when `listen` asked for port 0). */
  get grpcAddress(): string {
    return this.address;
  }

  get metricsAddress(): string | undefined {
    return this.metrics?.address;
  }

  /** Records the control plane still works on (not yet final and reported). */
  jobs(): JobRecord[] {
    return this.store.active();
  }

  job(key: JobKey): JobRecord | undefined {
    return this.store.get(recordId(key));
  }

  /**
   * Asks for a job to be killed: cancelled here if not yet dispatched, else a KillJob. Returns
   * the transition (undefined when the attempt is no longer active here).
   */
  async requestKill(
    key: JobKey,
    reason: KillReason,
    message: string,
  ): Promise<Transition | undefined> {
    this.assertState('running');
    return this.store.apply(key, { type: 'kill-requested', at: this.now(), reason, message });
  }

  /** PanDA wants the job gone (tobekilled, or it ended the job itself). */
  private pandaKill(key: JobKey, message: string): void {
    const event = {
      type: 'kill-requested' as const,
      at: this.now(),
      reason: KillReason.PANDA,
      // The reason already reads "killed by PanDA"; the message says how PanDA told us.
      message,
    };
    this.store
      .apply(key, event)
      .catch((err: unknown) =>
        this.log.error({ err, pandaId: key.pandaId }, 'recording a kill failed'),
      );
  }

  private assertState(...allowed: ControlPlaneState[]): void {
    if (!allowed.includes(this.current))
      throw new PgcError(FailureCode.FAILED_PRECONDITION, `the control plane is ${this.current}`);
  }

  private async boot(): Promise<void> {
    const { config, now } = this;
    const log = this.log;
    const part = (component: string): Logger => this.baseLog.child({ component });
    const grpcTls = loadTlsMaterial(config.tls);
    const adminTokens = new AdminTokens(config.adminTokens);
    // Token holders must be able to connect without a client certificate (auth/authorize.ts).
    const credentials = grpcServerCredentials(
      config.listen,
      grpcTls,
      config.insecure,
      adminTokens.configured ? 'optional' : 'required',
    );
    const auth = authPolicy(config.listen, grpcTls !== undefined, adminTokens);
    if (grpcTls === undefined && !auth.openAdmin && !adminTokens.configured)
      log.warn(
        { listen: config.listen },
        'plaintext gRPC on a network address: Admin calls are refused until adminTokens are configured',
      );
    const pandaTls = loadClientTls(config.panda.tls);
    const names = natsNames(config.nats.subjectPrefix);

    this.store = await ControlStore.open(config.stateDir ?? defaultControlStateDir(), {
      schedulerId: config.schedulerId,
      log,
      allowNetworkFilesystem: config.allowNetworkFilesystem,
    });
    const store = this.store;
    this.stops.push(
      () => store.close(),
      () => store.saveClock(now()),
    );

    const { nc, jsm } = await openNats(config, names, part('nats'));
    this.stops.push(() => nc.close());

    this.registry = new EndpointRegistry(store, part('registry'), now);
    const registry = this.registry;
    const metrics = new ControlMetrics(store, registry);
    store.onChange((change) => metrics.onStoreChange(change, now()));
    const panda = new PandaClient({
      baseUrl: config.panda.url,
      token: config.panda.token,
      origin: config.panda.origin,
      ...(pandaTls ? { tls: pandaTls } : {}),
      timeoutMs: config.panda.timeoutMs,
      retries: 0,
      log: this.baseLog, // it binds its own component
      onCall: (method, outcome, ms) => metrics.onPandaCall(method, outcome, ms),
    });
    const dispatcher = new Dispatcher(store, registry, {
      ackTimeoutMs: config.dispatchAckTimeoutMs,
      rejectBackoffMs: config.rejectBackoffMs,
      log: part('dispatcher'),
      now,
    });
    const events = new EventsConsumer(nc, names, store, {
      maxDeliver: config.nats.streams.eventsMaxDeliver,
      log: part('events'),
      now,
    });
    const publisher = new CommandPublisher(nc, names, store, part('commands'));
    const onKill = (key: JobKey, message: string): void => this.pandaKill(key, message);
    const reporter = new Reporter(store, panda, {
      policy: reportPolicy(config.reportBatchJobs, config.reportRetryMaxMs),
      schedulerId: config.schedulerId,
      log: part('reporter'),
      now,
      onKill,
    });
    const intake = new JobIntake(store, {
      inputUrlTemplates: inputUrlTemplates(config),
      log: part('intake'),
      now,
    });
    const pollers = createPollers(config.queues, {
      panda,
      intake,
      capacity: (q) => freeCapacity(q, registry.views(), store.queued().map(queuedJob)),
      timing: {
        pollIntervalMs: config.pollIntervalMs,
        idlePollIntervalMs: config.idlePollIntervalMs,
        errorBackoffMaxMs: config.pollErrorBackoffMaxMs,
      },
      maxJobsPerAcquire: config.maxJobsPerAcquire,
      schedulerId: config.schedulerId,
      node: hostname(),
      log: part('poller'),
    });
    const capacityChanged = (): void => {
      dispatcher.kick();
      for (const p of pollers) p.capacityChanged();
    };
    const gateway = new Gateway(store, registry, dispatcher, events, {
      queues: config.queues,
      requireCertificateIdentity: grpcTls !== undefined,
      pingIntervalMs: config.agentPingIntervalMs,
      silenceTimeoutMs: config.agentSilenceTimeoutMs,
      ensureEndpoint: (id) =>
        withDeadline(
          ensureEndpointResources(nc, jsm, names, id, config.nats.streams),
          10_000,
          'creating the endpoint resources',
        ),
      onEndpointChange: capacityChanged,
      onAgentStats: (endpointId, stats) => metrics.onAgentStats(endpointId, stats),
      log: part('gateway'),
      now,
    });
    store.onChange((change) => {
      if (change.outbox) reporter.kick();
      if (change.commands) publisher.kick();
      if (change.jobs) capacityChanged();
    });

    const leases = new LeaseKeeper(store, registry, config.agentLeaseMs, part('leases'), now);
    await leases.restore(now());
    await intake.recover();

    const admin = adminService({
      store,
      registry,
      nc,
      names,
      requestKill: (key, reason, message) => this.requestKill(key, reason, message),
      onEndpointChange: capacityChanged,
      logsEofGraceMs: config.logsEofGraceMs,
      log: part('admin'),
      now,
    });
    const health = new HealthStatus(['pgc.v1.AgentGateway', 'pgc.v1.Admin']);
    this.health = health;
    const server = await startGrpcServer(
      config.listen,
      credentials,
      [
        { definition: AgentGatewayService, implementation: gateway.service() },
        { definition: AdminService, implementation: admin },
        { definition: HealthService, implementation: health.service() },
      ],
      [authInterceptor(auth, part('auth'))],
    );
    this.address = server.address;
    // Stopped in reverse order: first no more agents, then the loops, then NATS and the store.
    this.stops.push(
      () => publisher.stop(),
      () => reporter.stop(),
      () => events.stop(),
    );
    this.stops.push(() => {
      gateway.stop();
      return server.shutdown(() => {
        for (const session of registry.all()) session.close();
        health.endWatches();
      });
    });
    this.stops.push(() => dispatcher.stop());

    events.start();
    publisher.kick();
    reporter.kick();
    const periodic = [
      new Periodic('leases', leases.checkIntervalMs, () => leases.tick(), log),
      new Periodic(
        'heartbeats',
        heartbeatCheckMs(config.pandaHeartbeatIntervalMs),
        () => sendDueHeartbeats(store, config.pandaHeartbeatIntervalMs, now),
        log,
      ),
      new Periodic(
        'status',
        config.statusPollIntervalMs,
        (signal) => pollStatuses(store, panda, onKill, part('status'), signal),
        log,
      ),
    ];
    for (const p of periodic) p.start();
    this.stops.push(() => Promise.all(periodic.map((p) => p.stop())));
    for (const p of pollers) p.start();
    this.stops.push(() => Promise.all(pollers.map((p) => p.stop())));
    dispatcher.kick();

    if (config.metricsListen !== '') {
      const metricsServer = await startMetricsServer(
        config.metricsListen,
        () => metrics.render(),
        log,
      );
      this.metrics = metricsServer;
      if (metricsServer) this.stops.push(() => metricsServer.close());
    }
  }

  /** Graceful stop: no new work, in-flight calls finish, state on disk. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.assertState('running', 'failed', 'stopped');
    this.current = 'draining';
    this.health?.setAll(ServingStatus.NOT_SERVING);
    this.log.info('control plane stopping');
    this.stopping = this.teardown().then(() => {
      this.current = 'stopped';
      this.log.info('control plane stopped');
    });
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        this.log.warn({ err }, 'a part did not stop cleanly');
      }
    }
  }
}
