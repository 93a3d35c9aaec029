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

/**
 * What every admin verb takes: --server and --json, the TLS files (same environment variables as
 * the agent's config, agent/config.ts; an admin certificate, or only the CA with a token) and an
 * admin bearer token (docs/protocol.md, "Identities and roles").
 */
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
    .option('--json', 'print JSON for scripts instead of a table')
    .addOption(
      new Option('--tls-ca <file>', 'CA the control plane’s certificate chains to (PEM)').env(
        'PGC_TLS_CA_FILE',
      ),
    )
    .addOption(new Option('--tls-cert <file>', 'client certificate (PEM)').env('PGC_TLS_CERT_FILE'))
    .addOption(new Option('--tls-key <file>', 'client key (PEM)').env('PGC_TLS_KEY_FILE'))
    .addOption(
      new Option(
        '--token <token>',
        'admin bearer token (prefer PGC_TOKEN: arguments show in ps)',
      ).env('PGC_TOKEN'),
    )
    .option('--insecure', 'allow plaintext gRPC to a non-loopback address');
}

/** A repeatable option whose values must be one of `words`, collected in order. */
export function collectChoice<T>(
  words: readonly string[],
  parse: (word: string) => T | undefined,
): (value: string, previous?: T[]) => T[] {
  return (value, previous = []) => {
    const parsed = parse(value.trim().toLowerCase());
    if (parsed === undefined)
      throw new InvalidArgumentError(
        `expected one of ${words.join(', ')}, got ${JSON.stringify(value)}`,
      );
    return [...previous, parsed];
  };
}

export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level of this process')
    .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info');
}
