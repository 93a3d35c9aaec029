/**
 * The whole system on this machine, each part a real process with its state and log in the
 * demo's directory: nats-server (JetStream, free port), `pgc panda-sim`, `pgc control run` and
 * one `pgc agent run` per demo endpoint. Configuration goes through the same YAML files and
 * flags a user would write, so `pgc demo --keep` leaves a system that every other command can use.
 *
 * Stopping goes in the reverse order of dependence: agents (their payloads killed, none left
 * behind), control plane, simulator, NATS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EndpointStatus } from '../../shared/gen/pgc/v1/admin.js';
import { LocalNatsServer } from '../../shared/nats/local-server.js';
import { AdminConnection } from '../admin/connection.js';
import { DemoChild } from './child-process.js';
import { endPayloads } from './payload-processes.js';
import {
  DEADLINES,
  DEMO_AGENT_SETTINGS,
  DEMO_CONTROL_SETTINGS,
  DEMO_ENDPOINTS,
  DEMO_QUEUE,
  DEMO_SIM_FLAGS,
} from './settings.js';
import { DemoFailedError, pollUntil } from './wait.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The environment of the demo's processes: the user's, less every PGC_* variable. A PGC_ADDR
 * left over from an earlier `pgc demo --keep` would otherwise beat the demo's config files
 * (environment > file) and point its control plane at the old address.
 */
export function childEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && !name.startsWith('PGC_')) out[name] = value;
  return out;
}

export interface DemoAddresses {
  controlAddress: string;
  pandaUrl: string;
  natsUrl: string;
}

export class DemoSystem {
  readonly logsDir: string;
  private nats: LocalNatsServer | undefined;
  private sim: DemoChild | undefined;
  private control: DemoChild | undefined;
  readonly agents: DemoChild[] = [];
  private addresses: Partial<DemoAddresses> = {};

  constructor(
    readonly dir: string,
    private readonly natsBinary: string,
    private readonly env: Env,
  ) {
    this.logsDir = join(dir, 'logs');
    mkdirSync(this.logsDir, { recursive: true });
  }

  get urls(): DemoAddresses {
    const { controlAddress, pandaUrl, natsUrl } = this.addresses;
    if (controlAddress === undefined || pandaUrl === undefined || natsUrl === undefined)
      throw new Error('the demo system has not started');
    return { controlAddress, pandaUrl, natsUrl };
  }

  /** Every pgc process of the demo (not nats-server, which LocalNatsServer runs). */
  get children(): DemoChild[] {
    return [this.sim, this.control, ...this.agents].filter((c): c is DemoChild => c !== undefined);
  }

  logFile(name: string): string {
    return join(this.logsDir, `${name}.log`);
  }

  /** Starts every part and waits until both agents are connected. */
  async start(signal: AbortSignal): Promise<void> {
    const env = childEnv(this.env);
    const natsStarted = LocalNatsServer.start({
      binary: this.natsBinary,
      storeDir: join(this.dir, 'nats'),
      logFile: this.logFile('nats-server'),
      detached: true,
    });
    this.sim = new DemoChild(
      'panda-sim',
      [
        'panda-sim',
        '--port',
        '0',
        '--state-dir',
        join(this.dir, 'panda-sim'),
        ...DEMO_SIM_FLAGS,
        '--log-level',
        'info',
      ],
      env,
      this.logFile('panda-sim'),
    );
    this.sim.start();
    // Both at once; a failure of either is reported after both settled (nothing left starting).
    const [nats, simUrl] = await Promise.allSettled([
      natsStarted,
      this.sim.waitForLine(/panda-sim listening on (\S+)/, DEADLINES.startMs),
    ]);
    if (nats.status === 'fulfilled') this.nats = nats.value;
    if (nats.status === 'rejected') throw nats.reason;
    if (simUrl.status === 'rejected') throw simUrl.reason;
    this.addresses.natsUrl = nats.value.url;
    this.addresses.pandaUrl = simUrl.value[1] as string;

    const controlConfig = join(this.dir, 'control.yaml');
    writeFileSync(
      controlConfig,
      stringify({
        queues: [DEMO_QUEUE],
        // Port 0: the control plane binds a free port and prints it.
        listen: '127.0.0.1:0',
        stateDir: join(this.dir, 'control'),
        panda: { url: this.addresses.pandaUrl },
        nats: { url: this.addresses.natsUrl },
        ...DEMO_CONTROL_SETTINGS,
      }),
    );
    this.control = new DemoChild(
      'control',
      ['control', 'run', '--config', controlConfig, '--log-level', 'info'],
      env,
      this.logFile('control'),
    );
    this.control.start();
    const listening = await this.control.waitForLine(
      /control plane listening on (\S+)/,
      DEADLINES.startMs,
    );
    this.addresses.controlAddress = listening[1] as string;

    for (const endpointId of DEMO_ENDPOINTS) {
      const config = join(this.dir, `agent-${endpointId}.yaml`);
      writeFileSync(
        config,
        stringify({
          endpointId,
          queues: [DEMO_QUEUE],
          server: this.addresses.controlAddress,
          nats: { url: this.addresses.natsUrl },
          stateDir: join(this.dir, `agent-${endpointId}`),
          ...DEMO_AGENT_SETTINGS,
        }),
      );
      const agent = new DemoChild(
        endpointId,
        ['agent', 'run', '--config', config, '--log-level', 'info'],
        env,
        this.logFile(`agent-${endpointId}`),
      );
      agent.start();
      this.agents.push(agent);
    }
    const connection = new AdminConnection({ server: this.addresses.controlAddress });
    try {
      await pollUntil(
        async () => {
          const dead = this.children.find((c) => !c.running);
          if (dead !== undefined)
            throw new DemoFailedError(
              dead.failure(`exited (${dead.describeExit()})`).message,
              true,
            );
          const { endpoints } = await connection.listEndpoints();
          const online = endpoints.filter((e) => e.status === EndpointStatus.ONLINE);
          return online.length >= DEMO_ENDPOINTS.length ? true : undefined;
        },
        {
          timeoutMs: DEADLINES.endpointsOnlineMs,
          intervalMs: 100,
          what: 'both agents connected to the control plane',
          signal,
        },
      );
    } finally {
      connection.close();
    }
  }

  /** The first part that exits from now on (the demo watches for it under --keep). */
  firstExit(): Promise<string> {
    const exits = this.children.map((c) =>
      c.whenExited().then(() => c.failure(`exited (${c.describeExit()})`).message),
    );
    if (this.nats !== undefined) {
      const nats = this.nats;
      exits.push(
        new Promise((resolve) => {
          const timer = setInterval(() => {
            if (nats.running) return;
            clearInterval(timer);
            resolve(`nats-server exited; the end of its log:\n${nats.log}`);
          }, 500);
          timer.unref();
        }),
      );
    }
    return Promise.race(exits);
  }

  /**
   * Stops everything; safe to call at any point of start() and more than once. Payloads left by
   * an agent that could not cancel them are killed here: none outlives the demo.
   */
  async stop(): Promise<void> {
    // An agent's SIGTERM leaves its payloads running (agent shutdown is not job kill, and a
    // second SIGTERM sent at once may merge with the first), so the demo ends its jobs itself,
    // the way an agent kills one. Only an interrupted run has any.
    await endPayloads(DEMO_ENDPOINTS, this.dir, DEMO_AGENT_SETTINGS.killGraceMs);
    await Promise.all(this.agents.map((agent) => agent.stop(DEADLINES.stopMs)));
    await this.control?.stop(DEADLINES.stopMs);
    await this.sim?.stop(DEADLINES.stopMs);
    await this.nats?.stop('SIGTERM');
    // Again: a payload may have been starting while its agent went away.
    await endPayloads(DEMO_ENDPOINTS, this.dir, 0);
  }
}
