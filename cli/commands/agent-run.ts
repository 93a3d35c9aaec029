/**
 * `pgc agent run`: the endpoint agent. Zero-config on one machine: `pgc agent run --endpoint ID
 * --queue Q` dials the control plane at $PGC_ADDR (else 127.0.0.1:7800) and NATS at
 * $PGC_NATS_URL (else nats://127.0.0.1:4222). First SIGTERM/SIGINT: the agent stops taking work
 * and exits, payloads keep running (the next start re-attaches); a second one kills them.
 */
import { Agent } from '../../agent/agent.js';
import { agentSchema, defaultAgentStateDir } from '../../agent/config.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger, type LogLevel } from '../../shared/logger.js';
import { UsageError } from '../errors.js';
import { faultHook } from '../fault-injection.js';
import type { CliIo } from '../program.js';

export interface AgentRunFlags {
  config?: string;
  endpoint?: string;
  queue?: string[];
  server?: string;
  nats?: string;
  slots?: number;
  stateDir?: string;
  insecure?: boolean;
  logLevel: LogLevel;
}

export async function runAgent(flags: AgentRunFlags, io: CliIo): Promise<void> {
  if (
    flags.endpoint === undefined &&
    flags.config === undefined &&
    io.env.PGC_ENDPOINT === undefined
  ) {
    throw new UsageError(
      'pgc agent run needs --endpoint ID (or a --config file naming endpointId)',
    );
  }
  const config = loadConfig({
    schema: agentSchema,
    ...(flags.config ? { file: flags.config } : {}),
    env: io.env,
    flags: {
      endpointId: flags.endpoint,
      queues: flags.queue,
      server: flags.server,
      slots: flags.slots,
      stateDir: flags.stateDir,
      insecure: flags.insecure,
      nats: { url: flags.nats },
    },
  });
  const log = createLogger({
    name: 'pgc-agent',
    level: flags.logLevel,
    pretty: process.stderr.isTTY === true,
  });
  const fault = faultHook(io.env);
  const agent = await Agent.start(config, {
    log,
    env: io.env,
    stateDir: config.stateDir ?? defaultAgentStateDir(config.endpointId),
    ...(fault ? { fault } : {}),
  });
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals === 1) {
        log.info({ signal }, 'stopping: running payloads carry on (signal again to kill them)');
        void agent.stop().finally(resolve);
      } else {
        log.warn({ signal }, 'killing running jobs');
        void agent.killAll();
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // Detached payloads keep running; open handles of finished work must not hold the process.
  process.exit(process.exitCode ?? 0);
}
