/**
 * `pgc logs <id> [-f] [--stdout|--stderr] [--tail N]` and `pgc logs <id> --archive [-o file]`.
 * Raw bytes, in order, with no gaps or repeats (the control plane puts the chunks in order). The
 * payload's stdout goes to pgc's stdout and its stderr to pgc's stderr, as on a terminal (`2>&1`
 * merges them); a single stream asked for (--stdout or --stderr) goes to stdout, so it pipes.
 * `--tail N` is the last N lines of each stream. `-f` ends when the job ends.
 */
import { LogStream } from '../../shared/gen/pgc/v1/events.js';
import { type AdminFlags, withAdmin } from '../admin/connection.js';
import { downloadVerified } from '../admin/download.js';
import { bytes } from '../admin/table.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../program.js';

export interface LogsFlags extends AdminFlags {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tail?: number;
  archive?: boolean;
  output?: string;
}

export async function runLogs(pandaId: number, flags: LogsFlags, io: CliIo): Promise<void> {
  if (flags.archive) return runArchive(pandaId, flags, io);
  if (flags.output !== undefined)
    throw new UsageError('-o/--output goes with --archive (the log tarball)');
  if (flags.stdout && flags.stderr)
    throw new UsageError('give --stdout or --stderr, not both (neither shows both)');
  const stream = flags.stderr
    ? LogStream.STDERR
    : flags.stdout
      ? LogStream.STDOUT
      : LogStream.UNSPECIFIED;
  const single = stream !== LogStream.UNSPECIFIED;
  await withAdmin(flags, async (admin) => {
    const chunks = admin.streamLogs({
      pandaId,
      stream,
      follow: flags.follow === true,
      tailLines: flags.tail ?? 0,
    });
    for await (const chunk of chunks) {
      if (flags.json) {
        const line = {
          stream: chunk.stream === LogStream.STDERR ? 'stderr' : 'stdout',
          seq: chunk.seq,
          offset: chunk.offset,
          data: Buffer.from(chunk.data).toString('base64'),
          truncated: chunk.truncated,
          eof: chunk.eof,
        };
        io.stdout(`${JSON.stringify(line)}\n`);
      } else if (chunk.stream === LogStream.STDERR && !single) await io.stderrBytes(chunk.data);
      else await io.stdoutBytes(chunk.data);
    }
  });
}

async function runArchive(pandaId: number, flags: LogsFlags, io: CliIo): Promise<void> {
  if (flags.follow || flags.tail !== undefined || flags.stderr || flags.stdout)
    throw new UsageError(
      '--archive downloads the log tarball; it takes no -f, --tail or --stdout/--stderr',
    );
  await withAdmin(flags, async (admin) => {
    const detail = await admin.getJob(pandaId);
    const log = detail.result?.log;
    const file = flags.output ?? log?.lfn ?? `${pandaId}.log.tgz`;
    const chunks = admin.fetchObject({
      pandaId,
      what: { $case: 'logArchive', logArchive: true },
    });
    const got = await downloadVerified(
      chunks,
      file,
      { adler32: log?.adler32 ?? '', sizeBytes: log?.sizeBytes ?? 0 },
      `the log archive of job ${pandaId}`,
    );
    if (flags.json) io.stdout(`${JSON.stringify(got)}\n`);
    else
      io.stdout(`wrote ${got.file} (${bytes(got.sizeBytes)}, adler32 ${got.adler32} verified)\n`);
  });
}
