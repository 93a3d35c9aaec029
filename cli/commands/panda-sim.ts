/**
 * `pgc panda-sim`: runs the PanDA server simulator until SIGINT/SIGTERM, then closes it cleanly.
 * This command is its own entry point, so it owns its signal handlers (and removes them).
 */
import { InvalidArgumentError } from 'commander';
import { createLogger, type LogLevel } from '../../shared/logger.js';
import { loadTlsMaterial } from '../../shared/tls.js';
import { PandaSim, type PandaSimOptions } from '../../sim/server.js';
import type { SimTimeouts } from '../../sim/timeouts.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../program.js';

export interface PandaSimFlags {
  port: number;
  host: string;
  token?: string;
  stateDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  logLevel: LogLevel;
  sentTimeoutS?: number;
  heartbeatTimeoutS?: number;
  holdingTimeoutS?: number;
  adderDelayMs?: number;
  watchdogIntervalMs?: number;
}

/** A non-negative number of seconds; fractions allowed, so tests can use 0.5. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value.trim()) || !Number.isFinite(n)) {
    throw new InvalidArgumentError(`expected a number of seconds, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A non-negative integer number of milliseconds. */
export function parseMs(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(
      `expected a whole number of milliseconds, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function timeoutsFrom(flags: PandaSimFlags): Partial<SimTimeouts> {
  const t: Partial<SimTimeouts> = {};
  const ms = (s: number): number => Math.round(s * 1000);
  if (flags.sentTimeoutS !== undefined) t.sentTimeoutMs = ms(flags.sentTimeoutS);
  if (flags.heartbeatTimeoutS !== undefined) t.heartbeatTimeoutMs = ms(flags.heartbeatTimeoutS);
  if (flags.holdingTimeoutS !== undefined) t.holdingTimeoutMs = ms(flags.holdingTimeoutS);
  if (flags.adderDelayMs !== undefined) t.adderDelayMs = flags.adderDelayMs;
  if (flags.watchdogIntervalMs !== undefined) t.watchdogIntervalMs = flags.watchdogIntervalMs;
  return t;
}

function tlsFrom(flags: PandaSimFlags): PandaSimOptions['tls'] {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) {
    if (flags.tlsCa !== undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  // Without a client CA the server's own certificate stands in, so the loader's checks still run.
  const material = loadTlsMaterial({
    caFile: flags.tlsCa ?? flags.tlsCert,
    certFile: flags.tlsCert,
    keyFile: flags.tlsKey,
  });
  if (material === undefined) throw new UsageError('--tls-cert and --tls-key are empty');
  return { cert: material.cert, key: material.key, ...(flags.tlsCa ? { ca: material.ca } : {}) };
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export async function runPandaSim(flags: PandaSimFlags, io: CliIo): Promise<void> {
  const log = createLogger({
    name: 'pgc',
    level: flags.logLevel,
    pretty: process.stderr.isTTY === true,
  });
  const sim = await PandaSim.start({
    host: flags.host,
    port: flags.port,
    token: flags.token,
    log,
    timeouts: timeoutsFrom(flags),
    cacheDir: flags.stateDir,
    tls: tlsFrom(flags),
  });
  const stopped = untilSignal();
  io.stdout(`panda-sim listening on ${sim.url}\n`);
  const signal = await stopped;
  log.info({ signal }, 'stopping panda-sim');
  await sim.close();
}
