/**
 * The extraction worker: a short-lived child process that parses one untrusted archive (or
 * freezes one built tree) and exits. The agent starts it under prlimit (RLIMIT_FSIZE, no core
 * dumps, CPU time) and a wall-clock timeout, so a parser crash such as CVE-2026-59871 or a bomb
 * costs this process, never the agent (RELIABILITY §1.4.6).
 *
 * Protocol (worker-protocol.ts): the worker prints "ready" once loaded; stdin carries one JSON
 * request line, then the archive; the result is the last line on stdout, in JSON (none if stdin
 * ends before a request); exit code 0 on success, 2 on a reported problem. Imports stay minimal (node-tar, the
 * entry policy, the tree walk) to keep start-up cheap.
 */
import type { Readable } from 'node:stream';
import { extractArchive } from './tar-extract.js';
import { type TreeViolation, walkTree } from './tree-walk.js';
import { parseWorkerRequest, type WorkerRequest, type WorkerResult } from './worker-protocol.js';

const ONLY = 'only regular files and directories are allowed';
const MAX_REQUEST_BYTES = 64 * 1024;

function archiveViolation(v: TreeViolation): string {
  return `sandbox rejected: entry ${JSON.stringify(v.path)} is ${v.found} after extraction; ${ONLY} with safe modes`;
}

function buildViolation(v: TreeViolation): string {
  return `build step left ${JSON.stringify(v.path)}, ${v.found}; ${ONLY}, owned by the agent user`;
}

async function run(request: WorkerRequest): Promise<WorkerResult> {
  if (request.op === 'freeze') {
    const walked = walkTree(request.target, { checkModes: false, freeze: 'all' });
    if (!walked.ok)
      return { ok: false, code: 'BUILD_FAILED', message: buildViolation(walked.violation) };
    return { ok: true, stats: { entries: 0, ...walked.counts } };
  }
  const extracted = await extractArchive(
    process.stdin,
    request.target,
    request.limits,
    request.freeze,
  );
  if (!extracted.ok) return { ok: false, ...extracted.problem };
  // Verify what is on disk, not what the writer believes it wrote.
  const walked = walkTree(request.target, {
    checkModes: true,
    freeze: request.freeze ? 'dirs' : 'none',
  });
  if (!walked.ok)
    return { ok: false, code: 'UNSAFE_ARCHIVE', message: archiveViolation(walked.violation) };
  const { outcome } = extracted;
  if (walked.counts.files !== outcome.files || walked.counts.dirs !== outcome.dirs) {
    return {
      ok: false,
      code: 'UNSAFE_ARCHIVE',
      message: `sandbox rejected: the extracted tree has ${walked.counts.files} files and ${walked.counts.dirs} directories, the archive ${outcome.files} and ${outcome.dirs}`,
    };
  }
  return { ok: true, stats: { entries: outcome.entries, ...walked.counts } };
}

/**
 * The first line of stdin (the request); the rest stays in the stream for the archive. Resolves
 * undefined if stdin ends first (the agent gave up before sending a request).
 */
function readRequestLine(stdin: Readable): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const finish = (line: string | undefined, rest?: Buffer): void => {
      stdin.off('readable', onReadable);
      stdin.off('end', onEnd);
      stdin.off('error', reject);
      if (rest !== undefined && rest.length > 0) stdin.unshift(rest);
      resolve(line);
    };
    const onReadable = (): void => {
      let chunk = stdin.read() as Buffer | null;
      while (chunk !== null) {
        buffered = Buffer.concat([buffered, chunk]);
        const newline = buffered.indexOf(0x0a);
        if (newline >= 0) {
          finish(buffered.subarray(0, newline).toString('utf8'), buffered.subarray(newline + 1));
          return;
        }
        if (buffered.length > MAX_REQUEST_BYTES) {
          finish(undefined);
          return;
        }
        chunk = stdin.read() as Buffer | null;
      }
    };
    const onEnd = (): void => finish(undefined);
    stdin.on('readable', onReadable);
    stdin.on('end', onEnd);
    stdin.on('error', reject);
  });
}

async function main(): Promise<WorkerResult | undefined> {
  // Loaded: tell the agent this worker can take a request at once (see worker-client.ts).
  process.stdout.write('ready\n');
  const line = await readRequestLine(process.stdin);
  if (line === undefined) return undefined;
  const request = parseWorkerRequest(line);
  if (request === undefined)
    return { ok: false, code: 'INTERNAL', message: 'extract worker: malformed request' };
  // Staging modes must not depend on the agent's umask (0644/0755 before freezing).
  process.umask(0o022);
  try {
    return await run(request);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC' || errno === 'EDQUOT')
      return { ok: false, code: 'NO_SPACE', message: `no space left on device (${errno})` };
    return { ok: false, code: 'INTERNAL', message: `extract worker: ${message}` };
  }
}

const result = await main();
if (result !== undefined) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 2;
}
