/**
 * pgc's process entry point: the only place that reads process.argv and process.env and sets the
 * exit status. Exit 0 on success, 1 on failure, 2 on bad usage (DESIGN.md, CLI conventions).
 */
import { CommanderError } from 'commander';
import { describeError, ValidationError } from '../shared/errors.js';
import { NotLandedError, UsageError } from './errors.js';
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
    return err instanceof UsageError ||
      err instanceof NotLandedError ||
      err instanceof ValidationError
      ? 2
      : 1;
  }
}

/** Writes and waits for 'drain' when the stream's buffer is full. */
function writeBytes(stream: NodeJS.WriteStream): (data: Uint8Array) => Promise<void> {
  return (data) =>
    stream.write(data)
      ? Promise.resolve()
      : new Promise((resolve) => stream.once('drain', resolve));
}

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
