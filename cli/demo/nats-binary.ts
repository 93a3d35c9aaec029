/**
 * Finding nats-server before anything starts, and saying exactly how to install it when it is
 * missing (the advice of scripts/ensure-nats-server.sh, which `npm run demo` runs first).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FailureCode, PgcError } from '../../shared/errors.js';
import { findNatsServer, NATS_INSTALL_COMMAND } from '../../shared/nats/local-server.js';

type Env = Readonly<Record<string, string | undefined>>;

/** nats-server is missing or PGC_NATS_SERVER names no program: the demo cannot start. */
export class NatsServerMissingError extends PgcError {
  override name = 'NatsServerMissingError';
  constructor(message: string) {
    super(FailureCode.FAILED_PRECONDITION, message, { retryable: false });
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(env: Env, program: string): boolean {
  return (env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && isExecutable(join(dir, program)));
}

/** What to run to get nats-server, as scripts/ensure-nats-server.sh words it. */
export function natsInstallAdvice(hasAptGet: boolean): string {
  const lines = hasAptGet
    ? [
        'nats-server is required (the demo starts a real one). Install it with:',
        `  sudo sh -c '${NATS_INSTALL_COMMAND}'`,
      ]
    : [
        'nats-server is required (the demo starts a real one).',
        'Install it from your distribution or https://github.com/nats-io/nats-server/releases,',
      ];
  lines.push(
    'then put it on PATH or set PGC_NATS_SERVER=/path/to/nats-server (`npm run demo` installs it where it can).',
  );
  return lines.join('\n');
}

/**
 * The nats-server to run: PGC_NATS_SERVER when set (and then it must be a program: a typo there
 * should not silently start another binary), else PATH, /usr/sbin, /usr/local/bin.
 */
export function natsServerForDemo(env: Env): string {
  const hasAptGet = onPath(env, 'apt-get') || isExecutable('/usr/bin/apt-get');
  const named = env.PGC_NATS_SERVER;
  if (named !== undefined && named !== '') {
    if (isExecutable(named)) return named;
    throw new NatsServerMissingError(
      `PGC_NATS_SERVER=${named} is not an executable file.\n${natsInstallAdvice(hasAptGet)}`,
    );
  }
  try {
    return findNatsServer(env);
  } catch {
    throw new NatsServerMissingError(
      `nats-server was not found on PATH or in /usr/sbin.\n${natsInstallAdvice(hasAptGet)}`,
    );
  }
}
