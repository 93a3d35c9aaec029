/** Option parsers and shared option sets of the pgc subcommands. */
import { type Command, InvalidArgumentError, Option } from 'commander';

/** The control plane's gRPC address when neither --server/--listen nor PGC_ADDR says otherwise. */
export const DEFAULT_ADDR = '127.0.0.1:7800';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || n > 65535) {
    throw new InvalidArgumentError(`expected a port number 0-65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --server and --json: what every admin verb takes. */
export function adminOptions(
  command: Command,
  env: Readonly<Record<string, string | undefined>>,
): Command {
  return command
    .addOption(
      new Option('--server <host:port>', 'control-plane gRPC address')
        .env('PGC_ADDR')
        .default(env.PGC_ADDR ?? DEFAULT_ADDR),
    )
    .option('--json', 'print JSON for scripts instead of a table');
}

export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level of this process')
    .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info');
}
