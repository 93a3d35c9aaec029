/**
 * The processes' own logs: pino JSON lines on stderr (stdout stays free for command output),
 * human-readable through pino-pretty when a terminal asks. Components take a child logger with
 * `component` (and `pandaId` where a job is concerned) bound.
 */
import { pino } from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerOptions {
  name: string;
  level?: LogLevel;
  /** Human-readable lines instead of JSON (the entry point decides, e.g. stderr is a TTY). */
  pretty?: boolean;
  /** Where lines go; default stderr. Tests pass a stream to read them. */
  destination?: NodeJS.WritableStream;
}

/** Secrets never reach a log line, whichever component logs the object. */
const REDACT = [
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'key',
  '*.key',
];

export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  if (options.pretty) {
    return pino(
      settings,
      pretty({
        colorize: true,
        destination: options.destination ?? 2,
        sync: true,
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(settings, options.destination ?? pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything: for library use and tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
