/**
 * Inspects and extracts a tar(.gz) in one pass with one parser (node-tar's Parser), so what we
 * check is exactly what we write (parser-differential CVE-2026-53655). Runs inside the extraction
 * worker.
 *
 * Why not tar.x()/Unpack: our policy is stricter than its options can express (links, duplicates
 * and type changes are rejected, not skipped or clobbered; sizes and counts are capped; modes are
 * masked; owners are never copied, even as root — stack.md pitfall 14), and Unpack's async
 * per-file streams were 4–7× slower than `tar xzf` here. With only regular files and directories,
 * every path pre-checked by EntryPolicy, files created O_EXCL|O_NOFOLLOW in a fresh directory,
 * nothing is ever followed or replaced.
 *
 * We gunzip ourselves (rather than letting the Parser sniff) to count decompressed bytes against
 * a cap (T17, CVE-2026-59873) and to stop feeding the parser at the end-of-archive marker (it
 * would otherwise buffer whatever follows).
 */
import { readdirSync } from 'node:fs';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { type EntryDecision, EntryPolicy, quotePath } from './entry-policy.js';
import { type ExtractProblem, fsProblem, TreeWriter } from './tree-writer.js';
import type { ExtractLimits } from './worker-protocol.js';

export interface ExtractOutcome {
  entries: number;
  files: number;
  dirs: number;
}

const NOT_AN_ARCHIVE = 'sandbox is not a gzip or tar archive';
class Stop extends Error {}

/**
 * Extracts the archive read from `source` into `target`. With `finalModes`, files are created
 * read-only right away (0444, or 0555 if owner-executable) and only directories are left for the
 * freeze walk.
 */
export async function extractArchive(
  source: Readable,
  target: string,
  limits: ExtractLimits,
  finalModes: boolean,
): Promise<{ ok: true; outcome: ExtractOutcome } | { ok: false; problem: ExtractProblem }> {
  if (readdirSync(target).length !== 0) {
    return {
      ok: false,
      problem: { code: 'INTERNAL', message: `extraction target ${target} is not empty` },
    };
  }
  const policy = new EntryPolicy(limits);
  const writer = new TreeWriter(target, finalModes);
  const decisions = new WeakMap<ReadEntry, EntryDecision>();
  let problem: ExtractProblem | undefined;
  let sawEnd = false;
  let streamBytes = 0;
  let firstChunk = true;

  const parser = new Parser({
    strict: true,
    maxMetaEntrySize: limits.maxMetaEntryBytes,
    // Never let the parser pick a decompressor of its own (zstd is not in Node 20's zlib).
    zstd: false,
    brotli: false,
    filter: (_path, entry) => {
      if (problem) return false;
      const readEntry = entry as ReadEntry;
      const decision = policy.decide(readEntry);
      decisions.set(readEntry, decision);
      if (decision.action === 'reject') fail({ code: decision.code, message: decision.message });
      return decision.action === 'file' || decision.action === 'dir';
    },
  });

  function fail(found: ExtractProblem): void {
    if (problem) return;
    problem = found;
    // Stop parsing the current chunk right here; whatever was written is thrown away with the
    // staging directory.
    parser.abort(new Stop(found.message));
  }

  parser.on('entry', (entry: ReadEntry) => {
    const decision = decisions.get(entry);
    if (problem || decision === undefined) {
      entry.resume();
      return;
    }
    try {
      if (decision.action === 'dir') {
        writer.dir(decision.path);
        entry.resume();
      } else if (decision.action === 'file') {
        writer.file(entry, decision.path, decision.mode, fail, () => problem !== undefined);
      } else {
        entry.resume();
      }
    } catch (err) {
      fail(fsProblem(err, entry.path));
      entry.resume();
    }
  });

  parser.on('ignoredEntry', (entry: ReadEntry) => {
    const decision = decisions.get(entry);
    if (problem || decision?.action === 'skip') return;
    if (entry.meta) {
      fail({
        code: 'ARCHIVE_LIMITS',
        message: `sandbox rejected: metadata entry ${quotePath(entry.path)} (${entry.type}) has ${entry.size} bytes; the limit is ${limits.maxMetaEntryBytes}`,
      });
      return;
    }
    // Unsupported types are ignored by the parser before our filter sees them.
    const own = policy.decide(entry);
    fail(
      own.action === 'reject'
        ? { code: own.code, message: own.message }
        : {
            code: 'UNSAFE_ARCHIVE',
            message: `sandbox rejected: entry ${quotePath(entry.path)} was refused by the parser`,
          },
    );
  });

  parser.on('eof', () => {
    sawEnd = true;
  });

  const parsed = new Promise<void>((resolve) => {
    parser.on('end', () => resolve());
    parser.on('error', (err: Error & { tarCode?: string }) => {
      if (!problem) fail(parserProblem(err, policy.entries, sawEnd));
      resolve();
    });
  });

  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      if (problem) return callback(new Stop());
      streamBytes += chunk.length;
      if (streamBytes > limits.maxStreamBytes) {
        fail({
          code: 'ARCHIVE_LIMITS',
          message: `sandbox too large: more than ${limits.maxStreamBytes} bytes after decompression`,
        });
        return callback(new Stop());
      }
      if (firstChunk) {
        firstChunk = false;
        if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
          fail({ code: 'BAD_ARCHIVE', message: `${NOT_AN_ARCHIVE} (it is compressed twice)` });
          return callback(new Stop());
        }
      }
      // After the end-of-archive marker, keep reading (the gzip trailer is still checked) but
      // drop the bytes: the parser would buffer them.
      if (!sawEnd) parser.write(chunk);
      callback(problem ? new Stop() : undefined);
    },
    final(callback) {
      parser.end();
      callback();
    },
  });

  try {
    const head = await readHead(source);
    const gzip = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
    if (gzip) await pipeline(source, createGunzip({ chunkSize: 256 * 1024 }), sink);
    else await pipeline(source, sink);
    await parsed;
  } catch (err) {
    if (!problem) {
      const message = err instanceof Error ? err.message : String(err);
      const errno = (err as NodeJS.ErrnoException).code ?? '';
      fail(
        errno.startsWith('Z_')
          ? { code: 'BAD_ARCHIVE', message: `sandbox archive is corrupt (gzip: ${message})` }
          : { code: 'INTERNAL', message: `cannot read the archive: ${message}` },
      );
    }
  }
  if (problem) return { ok: false, problem };
  if (writer.files === 0 && writer.dirs === 0) {
    return { ok: false, problem: { code: 'BAD_ARCHIVE', message: 'sandbox archive has no files' } };
  }
  return { ok: true, outcome: { entries: policy.entries, files: writer.files, dirs: writer.dirs } };
}

/** The first two bytes (for the gzip magic), pushed back so the pipeline still sees them. */
function readHead(source: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (head: Buffer): void => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', reject);
      if (head.length > 0) source.unshift(head);
      resolve(head);
    };
    const onReadable = (): void => {
      const head = source.read(2) as Buffer | null;
      if (head !== null) done(head);
    };
    const onEnd = (): void => done(Buffer.alloc(0));
    source.on('readable', onReadable);
    source.on('end', onEnd);
    source.on('error', reject);
  });
}

function parserProblem(
  err: Error & { tarCode?: string },
  entries: number,
  sawEnd: boolean,
): ExtractProblem {
  const code = err.tarCode ?? '';
  const detail = err.message.replace(/^TAR_[A-Z_]+: /, '');
  // node-tar calls an archive with nothing but the end marker unrecognised.
  if (entries === 0 && sawEnd)
    return { code: 'BAD_ARCHIVE', message: 'sandbox archive has no files' };
  if (entries === 0 && (code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ENTRY_INVALID')) {
    return { code: 'BAD_ARCHIVE', message: NOT_AN_ARCHIVE };
  }
  if (code === 'TAR_BAD_ARCHIVE')
    return { code: 'BAD_ARCHIVE', message: `sandbox archive is truncated or corrupt (${detail})` };
  return {
    code: 'BAD_ARCHIVE',
    message: `sandbox archive is corrupt (${detail}, after ${entries} entries)`,
  };
}
