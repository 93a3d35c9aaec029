/**
 * pgc's process entry point: the only place that reads process.argv and process.env and sets the
 * exit status. Exit 0 on success, 1 on failure, 2 on bad usage (DESIGN.md, CLI conventions).
 */
import { CommanderError } from 'commander';
import { describeError, ValidationError } from '../shared/errors.js';
import { UsageError } from './errors.js';
import { buildProgram, type CliIo } from './program.js';

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is bad usage.
      return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code)
        ? 0
        : 2;
    }
    io.stderr(`pgc: ${describeError(err)}\n`);
    return err instanceof UsageError || err instanceof ValidationError ? 2 : 1;
  }
}

/** Writes and waits for 'drain' when the stream's buffer is full. */
function writeBytes(stream: NodeJS.WriteStream): (data: Uint8Array) => Promise<void> {
  return (data) =>
    stream.write(data)
      ? Promise.resolve()
      : new Promise((resolve) => stream.once('drain', resolve));
}

// grpc-js hands an IP target to TLS as the ServerName (channel-credentials.js), which Node
// deprecates (DEP0123) with a warning on stderr. The server certificate's IP SAN is what is
// checked, not SNI, and the warning would precede the output of every command that dials an
// address like 10.0.0.7:7800 over TLS: drop that one warning, keep every other.
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
  const [typeOrOptions, code] = rest;
  const warningCode =
    typeof typeOrOptions === 'object' && typeOrOptions !== null
      ? (typeOrOptions as { code?: unknown }).code
      : code;
  if (warningCode === 'DEP0123') return;
  return (emitWarning as (w: string | Error, ...r: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;

// `pgc logs 123 | head` closes the pipe early: that is the reader's choice, not a failure.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdoutBytes: writeBytes(process.stdout),
  stderrBytes: writeBytes(process.stderr),
  env: process.env,
});
