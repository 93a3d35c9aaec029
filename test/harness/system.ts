/**
 * The whole system for end-to-end tests, each part a real process where the issue says so: a
 * nats-server, the PanDA simulator (in the test process, inspected through its /sim/ API), the
 * control plane (`pgc control run`) and agents (`pgc agent run`). Every part can be crashed and
 * restarted; logs go to files in the test's directory.
 */
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MARKER_VARIABLE } from '../../agent/agent-core.js';
import { processesByMarker } from '../../agent/proc.js';
import type { LocalNatsServer } from '../../shared/nats/local-server.js';
import type { PandaSim } from '../../sim/server.js';
import type { SimTimeouts } from '../../sim/timeouts.js';
import { startNats } from './nats.js';
import { PgcProcess } from './process.js';
import { startSim } from './sim.js';

export interface AgentSpec {
  endpointId: string;
  queues: string[];
  slots?: number;
  env?: Record<string, string>;
}

export interface SystemOptions {
  dir: string;
  queues: string[];
  agents: AgentSpec[];
  /** Control-plane settings (control/config.ts keys), written to its YAML config file. */
  control?: Record<string, unknown>;
  /** nats-server runs with this configuration file (e.g. the accounts `pgc nats-config` wrote). */
  natsConfigFile?: string;
  simTimeouts?: Partial<SimTimeouts>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export class TestSystem implements AsyncDisposable {
  readonly agents = new Map<string, PgcProcess>();

  private constructor(
    readonly dir: string,
    readonly nats: LocalNatsServer,
    readonly sim: PandaSim,
    readonly control: PgcProcess,
    readonly controlAddress: string,
  ) {}

  static async start(options: SystemOptions): Promise<TestSystem> {
    const { dir } = options;
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const nats = await startNats({
      storeDir: join(dir, 'nats'),
      ...(options.natsConfigFile ? { configFile: options.natsConfigFile } : {}),
    });
    const sim = await startSim({
      cacheDir: join(dir, 'sim'),
      ...(options.simTimeouts ? { timeouts: options.simTimeouts } : {}),
    });
    const address = `127.0.0.1:${await freePort()}`;
    const configFile = join(dir, 'control.yaml');
    // `nats` settings given for the control plane (credentials) join the server's URL.
    const { nats: controlNats, ...controlSettings } = options.control ?? {};
    writeFileSync(
      configFile,
      stringify({
        queues: options.queues,
        listen: address,
        stateDir: join(dir, 'control-state'),
        metricsListen: '',
        panda: { url: sim.url },
        nats: { url: nats.url, ...(controlNats as Record<string, unknown> | undefined) },
        ...controlSettings,
      }),
    );
    const control = new PgcProcess(
      'control',
      ['control', 'run', '--config', configFile, '--log-level', 'info'],
      {},
      join(dir, 'logs', 'control.log'),
    );
    const system = new TestSystem(dir, nats, sim, control, address);
    control.start();
    for (const agent of options.agents) system.addAgent(agent);
    return system;
  }

  addAgent(spec: AgentSpec): PgcProcess {
    const args = [
      'agent',
      'run',
      '--endpoint',
      spec.endpointId,
      '--server',
      this.controlAddress,
      '--nats',
      this.nats.url,
      '--state-dir',
      join(this.dir, `agent-${spec.endpointId}`),
      '--slots',
      String(spec.slots ?? 8),
      '--log-level',
      'info',
    ];
    for (const q of spec.queues) args.push('--queue', q);
    const agent = new PgcProcess(
      spec.endpointId,
      args,
      { PGC_HEARTBEAT_INTERVAL_MS: '5000', ...spec.env },
      join(this.dir, 'logs', `agent-${spec.endpointId}.log`),
    );
    agent.start();
    this.agents.set(spec.endpointId, agent);
    return agent;
  }

  agent(endpointId: string): PgcProcess {
    const agent = this.agents.get(endpointId);
    if (agent === undefined) throw new Error(`no agent ${endpointId}`);
    return agent;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.dispose()));
    // Payloads outlive a SIGKILLed agent by design; a test's own must not outlive the test.
    for (const procs of processesByMarker(MARKER_VARIABLE).values())
      for (const p of procs) if (cwdOf(p.pid)?.startsWith(this.dir)) killQuietly(p.pid);
    await this.control.dispose();
    await this.sim.close();
    await this.nats.dispose();
  }
}

function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/**
 * Watches payload processes (by their marker) across the agents of the given endpoints and
 * records every moment an attempt had more than one live supervisor: I1 says that never happens.
 */
export function watchDoubleRuns(
  endpoints: readonly string[],
  intervalMs = 100,
): { stop: () => string[] } {
  const violations: string[] = [];
  let supervisorsSeen = 0;
  const timer = setInterval(() => {
    const perAttempt = new Map<string, string[]>();
    for (const [marker, procs] of processesByMarker(MARKER_VARIABLE)) {
      const [endpoint, attempt] = marker.split('/');
      if (endpoint === undefined || attempt === undefined || !endpoints.includes(endpoint))
        continue;
      for (const p of procs)
        if (p.pid === p.session)
          perAttempt.set(attempt, [...(perAttempt.get(attempt) ?? []), `${marker} pid ${p.pid}`]);
    }
    supervisorsSeen += perAttempt.size;
    for (const [attempt, supervisors] of perAttempt) {
      if (supervisors.length > 1 && violations.length < 20)
        violations.push(`${attempt}: ${supervisors.join(', ')}`);
    }
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      // A watch that never saw a supervisor proves nothing: say so instead of passing.
      if (supervisorsSeen === 0) return [...violations, 'the watch never saw a payload supervisor'];
      return violations;
    },
  };
}
