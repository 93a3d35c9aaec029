/**
 * What the control-plane integration tests share: one nats-server and one PanDA simulator per
 * file, a control plane in-process per test (its own state directory and subject prefix), and
 * the protocol-level test agent of test-agent.ts.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type ControlConfig, controlSchema } from '../../../control/config.js';
import { ControlPlane } from '../../../control/control-plane.js';
import { type Logger, silentLogger } from '../../../shared/logger.js';
import { connectNats } from '../../../shared/nats/connect.js';
import type { LocalNatsServer } from '../../../shared/nats/local-server.js';
import { type NatsNames, natsNames } from '../../../shared/nats/subjects.js';
import { buildJobPars } from '../../../sim/job-template.js';
import type { PandaSim } from '../../../sim/server.js';
import { startNats, uniqueId } from '../../harness/nats.js';
import { defineJobs, startSim } from '../../harness/sim.js';
import { tempDir } from '../../harness/temp.js';
import { TestAgent, type TestAgentOptions } from './test-agent.js';

export { storedCommands, TestAgent, type TestAgentOptions } from './test-agent.js';

/** A control plane for one test: its own state dir, subject prefix and fast clocks. */
export async function startControl(
  sim: PandaSim,
  natsUrl: string,
  stateDir: string,
  overrides: Record<string, unknown>,
  log: Logger = silentLogger(),
): Promise<ControlPlane> {
  const config: ControlConfig = controlSchema.parse({
    listen: '127.0.0.1:0',
    stateDir,
    metricsListen: '',
    panda: { url: sim.url, timeoutMs: 3000 },
    pollIntervalMs: 100,
    idlePollIntervalMs: 300,
    pollErrorBackoffMaxMs: 1000,
    statusPollIntervalMs: 300,
    dispatchAckTimeoutMs: 1000,
    agentPingIntervalMs: 1000,
    agentSilenceTimeoutMs: 5000,
    reportRetryMaxMs: 500,
    rejectBackoffMs: 60_000,
    ...overrides,
    nats: {
      url: natsUrl,
      ...(overrides.nats as object),
      // JetStream reserves a stream's max bytes: keep test streams small.
      streams: { logsMaxBytes: 8 * 1024 * 1024 },
    },
  });
  return ControlPlane.start(config, { log });
}

/** Defines `count` translatable prun-style jobs at `site` in the simulator. */
export async function defineTestJobs(
  sim: PandaSim,
  site: string,
  count: number,
  extra: Record<string, unknown> = {},
): Promise<number[]> {
  const jobs = Array.from({ length: count }, (_, i) => {
    const lfn = `user.test.${site}.${Date.now()}.${i}.out.dat`;
    return {
      site,
      jobPars: buildJobPars({
        sourceUrl: sim.url,
        archive: 'jobO.test.tar.gz',
        outputs: [['out.dat', lfn]],
        exec: 'echo hello',
      }),
      outputs: [{ lfn }],
      ...extra,
    };
  });
  const { pandaIds } = await defineJobs(sim, jobs);
  return pandaIds;
}

export interface ControlEnv {
  nats: LocalNatsServer;
  nc: NatsConnection;
  sim: PandaSim;
  /** Registers a clean-up to run after the current test, in reverse order. */
  defer: (fn: () => Promise<unknown> | unknown) => void;
}

export interface ControlSetup {
  cp: ControlPlane;
  queue: string;
  names: NatsNames;
  stateDir: string;
  /** Starts the control plane again on the same state (after cp.stop()). */
  restart: () => Promise<ControlPlane>;
  agent: (endpointId: string, options?: Partial<TestAgentOptions>) => Promise<TestAgent>;
}

/** One nats-server and one simulator per test file; a control plane per test. */
export function useControlEnv(): {
  env: ControlEnv;
  setup: (overrides?: Record<string, unknown>, options?: { log?: Logger }) => Promise<ControlSetup>;
} {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const env = {
    defer: (fn: () => Promise<unknown> | unknown) => {
      cleanups.push(fn);
    },
  } as unknown as ControlEnv;
  beforeAll(async () => {
    env.nats = await startNats();
    env.nc = await connectNats({
      servers: env.nats.url,
      name: 'test',
      log: silentLogger(),
      reconnectTimeWaitMs: 100,
    });
    env.sim = await startSim({ timeouts: { adderDelayMs: 50 } });
  });
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await env.nc?.close();
    await env.nats?.dispose();
    await env.sim?.close();
  });
  const setup = async (
    overrides: Record<string, unknown> = {},
    options: { log?: Logger } = {},
  ): Promise<ControlSetup> => {
    const queue = uniqueId('Q');
    const prefix = uniqueId('p');
    const dir = tempDir();
    env.defer(() => dir[Symbol.dispose]());
    const config = { queues: [queue], ...overrides, nats: { subjectPrefix: prefix } };
    const start = async () => {
      const started = await startControl(env.sim, env.nats.url, dir.path, config, options.log);
      env.defer(() => started.stop());
      return started;
    };
    const names = natsNames(prefix);
    const result: ControlSetup = {
      cp: await start(),
      queue,
      names,
      stateDir: dir.path,
      restart: async () => {
        result.cp = await start();
        return result.cp;
      },
      agent: async (endpointId, options = {}) => {
        const agent = await TestAgent.connect({
          address: result.cp.grpcAddress,
          endpointId,
          queues: [queue],
          nc: env.nc,
          names,
          ...options,
        });
        env.defer(() => agent.dispose());
        return agent;
      },
    };
    return result;
  };
  return { env, setup };
}
