/**
 * `pgc control run`: loads the control plane's configuration (flag > env > file > default),
 * starts it and runs until SIGTERM/SIGINT. The first signal stops it gracefully (in-flight
 * PanDA calls finish, state is on disk); a second exits at once. This command is its own entry
 * point, so it owns its signal handlers (and removes them).
 */
import type { Command } from 'commander';
import { type ControlConfig, controlSchema } from '../../control/config.js';
import { ControlPlane } from '../../control/control-plane.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger, type LogLevel } from '../../shared/logger.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../program.js';

export interface ControlRunFlags {
  config?: string;
  queue?: string[];
  listen?: string;
  pandaUrl?: string;
  pandaToken?: string;
  nats?: string;
  stateDir?: string;
  metricsListen?: string;
  insecure?: boolean;
  logLevel: LogLevel;
}

/** The configuration from the flags; a flag left at its commander default does not count. */
export function controlConfigFrom(
  flags: ControlRunFlags,
  io: CliIo,
  command?: Command,
): ControlConfig {
  const given = (name: string): boolean =>
    command === undefined || command.getOptionValueSource(name) !== 'default';
  const config = loadConfig({
    schema: controlSchema,
    ...(flags.config ? { file: flags.config } : {}),
    env: io.env,
    flags: {
      queues: flags.queue,
      listen: given('listen') ? flags.listen : undefined,
      panda: { url: flags.pandaUrl, token: flags.pandaToken },
      nats: { url: flags.nats },
      stateDir: flags.stateDir,
      metricsListen: flags.metricsListen,
      insecure: flags.insecure ? true : undefined,
    },
  });
  if (config.queues.length === 0) {
    throw new UsageError(
      'no PanDA queue to serve: pass --queue <name> (repeatable) or list queues in --config',
    );
  }
  return config;
}

export async function runControl(
  flags: ControlRunFlags,
  io: CliIo,
  command?: Command,
): Promise<void> {
  const config = controlConfigFrom(flags, io, command);
  const log = createLogger({
    name: 'pgc-control',
    level: flags.logLevel,
    pretty: process.stderr.isTTY === true,
  });
  const controlPlane = await ControlPlane.start(config, { log });
  io.stdout(`control plane listening on ${controlPlane.grpcAddress}\n`);
  if (controlPlane.metricsAddress)
    io.stdout(`metrics at http://${controlPlane.metricsAddress}/metrics\n`);
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      log.info({ signal }, 'stopping (send the signal again to exit at once)');
      void controlPlane
        .stop()
        .catch((err: unknown) => log.error({ err }, 'the control plane did not stop cleanly'))
        .finally(() => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve();
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
