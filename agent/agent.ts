/**
 * An agent: the core (journal, sandboxes, supervised payloads), its outbox of events to
 * JetStream, its log shipper and result delivery (chunks, tarball and small outputs stored before
 * a result is published), the job-directory retention, its command consumer and its gRPC session
 * with the control plane, wired together. The core opens first, so payloads are supervised even
 * while NATS or the control plane are away.
 *
 *   starting → running → stopping → stopped      (a second stop() while stopping waits for the first)
 */
import { randomUUID } from 'node:crypto';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { describeError } from '../shared/errors.js';
import { KillReason } from '../shared/gen/pgc/v1/common.js';
import type { JobEvent } from '../shared/gen/pgc/v1/events.js';
import type { JobSpec } from '../shared/gen/pgc/v1/job.js';
import { attemptId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { type MetricsServer, startMetricsServer } from '../shared/metrics-server.js';
import { connectNats } from '../shared/nats/connect.js';
import { type NatsAuth, natsAuth } from '../shared/nats/credentials.js';
import { natsNames } from '../shared/nats/subjects.js';
import { PACKAGE_VERSION } from '../shared/package-info.js';
import { grpcChannelCredentials, loadTlsMaterial } from '../shared/tls.js';
import { AgentCore } from './agent-core.js';
import { AgentCounters, agentRegistry } from './agent-stats.js';
import { capacityOf, refusal } from './capacity.js';
import { CommandConsumer } from './command-consumer.js';
import type { AgentConfig } from './config.js';
import { checkCredentialPlacement } from './credential-files.js';
import { ResultDelivery } from './delivery/result-delivery.js';
import { EventOutbox } from './event-outbox.js';
import { JobDirRetention } from './job-dir-retention.js';
import { LogShipper } from './logs/log-shipper.js';
import { LogShipStore } from './logs/ship-store.js';
import { openPathsForPayloadUser, resolveRunAs } from './run-as.js';
import type { FaultPoint } from './runner/job-runner.js';
import { downloadToFile, SandboxManager } from './sandbox/sandbox-manager.js';
import { AgentSession } from './session.js';

export type AgentState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface AgentDeps {
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  stateDir: string;
  /** Test hook passed to the core (cli/fault-injection.ts). */
  fault?: (point: FaultPoint) => void;
}

/** Logs and files the results wait for, and the removal of job directories after them. */
interface StoredFiles {
  store: LogShipStore;
  shipper: LogShipper;
  delivery: ResultDelivery;
  retention: JobDirRetention;
}

export class Agent {
  private state: AgentState = 'starting';
  private nc: NatsConnection | undefined;
  private commands: CommandConsumer | undefined;
  private session: AgentSession | undefined;
  private readonly reserved = new Map<string, JobSpec>();
  private stopping: Promise<void> | undefined;
  private metrics: MetricsServer | undefined;

  private constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
    private readonly sandboxes: SandboxManager,
    private readonly outbox: EventOutbox,
    private readonly core: AgentCore,
    private readonly files: StoredFiles,
  ) {}

  static async start(config: AgentConfig, deps: AgentDeps): Promise<Agent> {
    const log = deps.log;
    const names = natsNames(config.nats.prefix);
    // Checked before anything starts: a readable or malformed seed or key file, or one inside the
    // state directory where jobs run, stops the agent here.
    checkCredentialPlacement(
      { 'nats.nkeySeedFile': config.nats.nkeySeedFile, 'tls.keyFile': config.tls.keyFile },
      deps.stateDir,
    );
    const natsCredentials = natsAuth(config.nats, log.child({ component: 'nats' }));
    const tls = loadTlsMaterial(config.tls);
    const credentials = grpcChannelCredentials(config.server, tls, config.insecure);
    const runAs = resolveRunAs(config.runAsUser);
    if (runAs === undefined && process.getuid?.() === 0)
      log.warn('the agent runs as root and runAsUser is not set: payloads run as root');
    const sandboxes = await SandboxManager.open({
      root: join(deps.stateDir, 'sandbox'),
      log,
      allowHosts: config.sandbox.allowHosts,
      quotaBytes: config.sandbox.quotaBytes,
      fetchTimeoutMs: config.sandbox.fetchTimeoutMs,
      maxDownloadBytes: config.sandbox.maxDownloadBytes,
      maxExtractedBytes: config.sandbox.maxExtractedBytes,
      maxEntries: config.sandbox.maxEntries,
      extractTimeoutMs: config.sandbox.extractTimeoutMs,
      ...(config.sandbox.buildCommand
        ? {
            build: {
              command: config.sandbox.buildCommand,
              timeoutMs: config.sandbox.buildTimeoutMs,
            },
          }
        : {}),
    });
    if (runAs) openPathsForPayloadUser(deps.stateDir);
    let core: AgentCore | undefined;
    const sessionRef: { current?: AgentSession } = {};
    const store = await LogShipStore.open(join(deps.stateDir, 'log-ship'), {
      allowNetworkFilesystem: config.allowNetworkFilesystem,
    });
    const counters = new AgentCounters();
    const shipper = new LogShipper({
      endpointId: config.endpointId,
      names,
      store,
      capBytes: config.logShipMaxBytes,
      running: () => core?.active() ?? [],
      log: log.child({ component: 'log-shipper' }),
      onShipped: (bytes) => {
        counters.logBytesShipped += bytes;
      },
    });
    const outbox = await EventOutbox.open(join(deps.stateDir, 'outbox'), {
      log,
      names,
      onResultPublished: async (key) => {
        await core?.markPublished(key);
        await shipper.forget(key);
      },
    });
    const appendEvent = (event: JobEvent): Promise<void> =>
      outbox.append(event).catch((err: unknown) => {
        log.error({ err: describeError(err) }, 'cannot store a job event');
      });
    // A result enters the outbox only once its logs and files are stored (issue 6).
    const delivery = new ResultDelivery({
      shipper,
      plan: (key) => core?.deliveryPlan(key),
      amend: (key, change) => {
        if (core === undefined) throw new Error('the agent core is not open');
        return core.amendResult(key, change);
      },
      deliver: appendEvent,
      onStored: (bytes) => {
        counters.outputBytesStored += bytes;
      },
      log: log.child({ component: 'delivery' }),
    });
    core = await AgentCore.open({
      endpointId: config.endpointId,
      stateDir: deps.stateDir,
      log,
      agentEnv: deps.env,
      python: config.python,
      sandboxes,
      download: (url, dest, signal) =>
        downloadToFile(url, dest, {
          what: 'input',
          allowHosts: config.sandbox.allowHosts,
          timeoutMs: config.sandbox.fetchTimeoutMs,
          maxBytes: config.sandbox.maxDownloadBytes,
          log,
          ...(signal ? { signal } : {}),
        }),
      settings: {
        maxLogBytes: config.maxLogBytes,
        killGraceMs: config.killGraceMs,
        maxKillGraceMs: config.maxKillGraceMs,
        maxWalltimeS: config.maxWalltimeS,
        maxMemoryMb: config.maxMemoryMb,
        maxOutputBytes: config.maxOutputBytes,
        localInputDirs: config.inputDirs,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        passEnv: config.passEnv,
        ...(runAs ? { runAs } : {}),
        stageOut: {
          bucket: names.bucket(config.endpointId),
          objectStoreMaxBytes: config.objectStoreMaxBytes,
          outputsDir: config.outputsDir ?? join(deps.stateDir, 'outputs'),
        },
      },
      monitorIntervalMs: config.monitorIntervalMs,
      allowNetworkFilesystem: config.allowNetworkFilesystem,
      ...(deps.fault ? { fault: deps.fault } : {}),
      // Resumed jobs announce themselves while the core opens, before the agent object exists.
      onEvent: (event) => {
        counters.onEvent(event);
        if (event.body?.$case === 'result') {
          delivery.submit(event);
          sessionRef.current?.sendCapacity();
        } else {
          void appendEvent(event);
        }
      },
    });
    await forgetDelivered(store, core);
    const retention = new JobDirRetention({
      jobsRoot: join(deps.stateDir, 'jobs'),
      keepMs: config.keepJobDirHours * 3_600_000,
      published: () => core?.publishedAttempts() ?? [],
      log: log.child({ component: 'retention' }),
    });
    retention.start();
    const agent: Agent = new Agent(config, deps, sandboxes, outbox, core, {
      store,
      shipper,
      delivery,
      retention,
    });
    agent.session = new AgentSession({
      address: config.server,
      credentials,
      endpointId: config.endpointId,
      agentVersion: PACKAGE_VERSION,
      instanceId: randomUUID(),
      queues: config.queues,
      core,
      capacity: () => agent.capacity(),
      admit: (spec) => agent.admit(spec),
      admitted: (spec) =>
        agent.reserved.delete(attemptId(spec.key ?? { pandaId: 0, attemptNr: 0 })),
      log,
      onWelcome: () => agent.commands?.poke(),
      stats: () => counters.snapshot(core.active().length),
    });
    sessionRef.current = agent.session;
    if (config.metricsListen !== '') {
      const registry = agentRegistry(config.endpointId, () =>
        counters.snapshot(core.active().length),
      );
      agent.metrics = await startMetricsServer(config.metricsListen, () => registry.render(), log);
    }
    agent.session.start();
    void agent.connectNats(names, natsCredentials);
    agent.state = 'running';
    log.info(
      {
        endpointId: config.endpointId,
        server: config.server,
        queues: config.queues,
        slots: config.slots,
      },
      'agent started',
    );
    return agent;
  }

  /** NATS in the background: payloads do not wait for it, and the outbox keeps events meanwhile. */
  private async connectNats(names: ReturnType<typeof natsNames>, auth: NatsAuth): Promise<void> {
    const { config, deps } = this;
    try {
      const nc = await connectNats({
        servers: config.nats.url.split(',').map((s) => s.trim()),
        name: `pgc-agent ${config.endpointId}`,
        log: deps.log.child({ component: 'nats' }),
        // Every reply (PubAcks, API answers, pulled commands) comes under this prefix, the only
        // one this agent's NATS user may subscribe to (shared/nats/permissions.ts).
        inboxPrefix: names.agentInboxPrefix(config.endpointId),
        auth,
      });
      if (this.state !== 'running') {
        await nc.close();
        return;
      }
      this.nc = nc;
      // checkAPI off: the agent's NATS user may not read account info ($JS.API.INFO). Under
      // pgc nats-config's accounts the API subjects it may use carry another prefix.
      const jsOptions = { checkAPI: false, apiPrefix: config.nats.jsApiPrefix };
      const js = jetstream(nc, jsOptions);
      this.outbox.start(js);
      this.files.shipper.start(js);
      this.files.delivery.start(js);
      this.commands = new CommandConsumer({
        nc,
        names,
        endpointId: config.endpointId,
        jsOptions,
        core: this.core,
        log: deps.log,
      });
      this.commands.start();
    } catch (err) {
      deps.log.error({ err: describeError(err) }, 'cannot connect to NATS');
    }
  }

  private limits(): { slots: number; memoryMb: number } {
    const memoryMb =
      this.config.memoryMb > 0 ? this.config.memoryMb : Math.floor(totalmem() / 1024 / 1024 / 2);
    return { slots: this.config.slots, memoryMb };
  }

  capacity() {
    const active = [...this.core.active().map((r) => r.spec), ...this.reserved.values()];
    return capacityOf(this.limits(), active, this.state === 'stopping' || this.state === 'stopped');
  }

  private admit(spec: JobSpec): string | undefined {
    const why = refusal(this.capacity(), spec);
    if (why === undefined)
      this.reserved.set(attemptId(spec.key ?? { pandaId: 0, attemptNr: 0 }), spec);
    return why;
  }

  get current(): AgentState {
    return this.state;
  }

  /**
   * Stops the agent. Payloads keep running and are re-attached by the next start (agent shutdown
   * is not job kill), unless `cancelJobs`: then they are killed first and their results published.
   */
  stop(options: { cancelJobs?: boolean } = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.cancelJobs ?? false);
    return this.stopping;
  }

  /** Kills every running job (agent-shutdown reason); used on a second stop signal. */
  async killAll(): Promise<void> {
    await Promise.all(this.core.active().map((r) => r.kill(KillReason.AGENT_SHUTDOWN)));
  }

  private async shutdown(cancelJobs: boolean): Promise<void> {
    this.state = 'stopping';
    await this.session?.stop();
    await this.metrics?.close();
    if (cancelJobs)
      await Promise.all(this.core.active().map((r) => r.kill(KillReason.AGENT_SHUTDOWN)));
    await this.commands?.stop();
    this.files.retention.stop();
    await Promise.all([this.files.delivery.close(), this.files.shipper.close()]);
    await this.outbox.close();
    await this.files.store.close();
    await this.nc?.close().catch(() => {});
    await this.core.close();
    await this.sandboxes.close();
    this.state = 'stopped';
    this.deps.log.info(
      cancelJobs
        ? 'agent stopped; its jobs were killed'
        : 'agent stopped; running payloads carry on',
    );
  }
}

/** Drops shipping records of attempts already delivered (a crash can leave them behind). */
async function forgetDelivered(store: LogShipStore, core: AgentCore): Promise<void> {
  const pending = new Set(
    core
      .attempts()
      .filter((a) => a.state !== 'published')
      .map((a) => attemptId(a.key)),
  );
  for (const id of await store.attempts()) if (!pending.has(id)) await store.forgetAttempt(id);
}
