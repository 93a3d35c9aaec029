/**
 * Starts extraction workers and turns their outcome into stats or a PgcError. A worker runs with
 * process.execPath: through tsx's loader when the TypeScript sources are present (a checkout), or
 * as the compiled dist/ file in an installed package — the same rule as bin/pgc.js. It is wrapped
 * in prlimit(1) for RLIMIT_FSIZE (no single file can exceed the extraction cap, even if our own
 * counting were wrong), no core dumps, and a CPU-time backstop; without prlimit it still runs,
 * with a warning, under the wall-clock timeout.
 *
 * One worker per request: a fresh process for every archive, so nothing one archive did to the
 * parser or the heap can affect the next (worker-launcher.ts keeps one started ahead of need).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { FailureCode, PgcError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { assetPath, PACKAGE_ROOT } from '../../shared/package-info.js';
import {
  parseWorkerResult,
  type WorkerProblemCode,
  type WorkerRequest,
  type WorkerStats,
} from './worker-protocol.js';

/** Fixed for every worker of one launcher (they are set when the process starts). */
export interface WorkerLimits {
  /** RLIMIT_FSIZE. */
  fileSizeLimitBytes: number;
  /** RLIMIT_CPU backstop for the whole life of the worker. */
  cpuLimitSeconds: number;
}

export interface WorkerRunOptions {
  /** Counted from the end of the input (the download deadline covers the streaming before). */
  timeoutMs: number;
  signal?: AbortSignal;
  log: Logger;
}

export interface RunningWorker {
  /** The archive goes here (extract); ended right away for freeze. */
  stdin: Writable;
  /** Its stats, or a PgcError (or the abort reason); settles once the process is gone. */
  done: Promise<WorkerStats>;
}

const OUTPUT_CAP = 64 * 1024;
const PRLIMIT_PATHS = ['/usr/bin/prlimit', '/bin/prlimit'];
// Enough heap for the parser and the path set of 100,000 entries; buffers are outside it.
const HEAP_MB = 512;
/** What a worker prints once it has loaded and waits for its request. */
const READY_LINE = 'ready\n';

const CODES: Readonly<Record<WorkerProblemCode, FailureCode>> = {
  UNSAFE_ARCHIVE: FailureCode.UNSAFE_ARCHIVE,
  ARCHIVE_LIMITS: FailureCode.ARCHIVE_LIMITS,
  BAD_ARCHIVE: FailureCode.BAD_ARCHIVE,
  NO_SPACE: FailureCode.NO_SPACE,
  BUILD_FAILED: FailureCode.BUILD_FAILED,
  INTERNAL: FailureCode.INTERNAL,
};

let nodeArgs: string[] | undefined;
let warnedNoPrlimit = false;

/** How to run the worker with Node: found once per process. */
function workerNodeArgs(): string[] {
  if (nodeArgs === undefined) {
    const source = assetPath('agent/sandbox/extract-worker.ts');
    nodeArgs = [`--max-old-space-size=${HEAP_MB}`];
    if (existsSync(source)) {
      const loader = createRequire(assetPath('package.json')).resolve('tsx/esm');
      nodeArgs.push('--import', pathToFileURL(loader).href, source);
    } else {
      nodeArgs.push(assetPath('dist/agent/sandbox/extract-worker.js'));
    }
  }
  return nodeArgs;
}

/** A started worker process; it waits for its request on stdin. */
export class WorkerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  exited = false;
  /** Settles once the process is gone and its pipes are drained. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  /** Resolves true once the worker has loaded and waits for a request; false if it died first. */
  readonly ready: Promise<boolean>;

  constructor(limits: WorkerLimits, log: Logger) {
    const prlimit = PRLIMIT_PATHS.find((p) => existsSync(p));
    const args = [...workerNodeArgs()];
    let command = process.execPath;
    if (prlimit !== undefined) {
      args.unshift(
        `--fsize=${Math.max(1, Math.floor(limits.fileSizeLimitBytes))}`,
        '--core=0',
        `--cpu=${Math.max(1, Math.ceil(limits.cpuLimitSeconds))}`,
        '--',
        process.execPath,
      );
      command = prlimit;
    } else if (!warnedNoPrlimit) {
      warnedNoPrlimit = true;
      log.warn('prlimit (util-linux) not found: the extraction worker runs without RLIMIT_FSIZE');
    }
    this.child = spawn(command, args, { cwd: PACKAGE_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    // EPIPE when the worker stops reading (it rejected the archive): its result says why.
    this.child.stdin.on('error', () => undefined);
    let markReady: (ready: boolean) => void = () => undefined;
    this.ready = new Promise((resolve) => {
      markReady = resolve;
    });
    this.child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (this.stdout.length < OUTPUT_CAP) this.stdout += s;
      if (this.stdout.startsWith(READY_LINE)) markReady(true);
    });
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-OUTPUT_CAP);
    });
    this.closed = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exited = true;
        resolve({ code: null, signal: null, error });
      });
      this.child.once('close', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      });
    });
    void this.closed.then(() => markReady(false));
  }

  /** Why it could not start, for the agent's start-up error. */
  describeFailure(): string {
    const line = this.stderr
      .split('\n')
      .find((l) => /Error/.test(l))
      ?.trim();
    return line ?? (this.stderr.trim().split('\n').pop() || 'no output');
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Hands one request to a started worker; the archive then follows on its stdin. */
export function assign(
  worker: WorkerProcess,
  request: WorkerRequest,
  options: WorkerRunOptions,
): RunningWorker {
  const what = request.op === 'extract' ? 'sandbox extraction' : 'freezing the built sandbox';
  const { stdin } = worker.child;
  stdin.write(`${JSON.stringify(request)}\n`);
  let timedOut = false;
  let aborted = false;
  let timer: NodeJS.Timeout | undefined;
  const armTimer = (): void => {
    if (worker.exited) return;
    timer ??= setTimeout(() => {
      timedOut = true;
      worker.kill();
    }, options.timeoutMs);
  };
  stdin.once('finish', armTimer);
  stdin.once('close', armTimer);
  const onAbort = (): void => {
    aborted = true;
    worker.kill();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  // Only once the process is gone may the caller remove the staging directory it wrote into.
  const done = worker.closed.then(({ code, signal, error }) => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (aborted) throw options.signal?.reason;
    if (error !== undefined) {
      throw new PgcError(
        FailureCode.INTERNAL,
        `cannot start the extraction worker: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    if (timedOut) {
      throw new PgcError(
        request.op === 'extract' ? FailureCode.ARCHIVE_LIMITS : FailureCode.INTERNAL,
        `${what} took longer than ${options.timeoutMs} ms`,
      );
    }
    const result = parseWorkerResult(worker.stdout);
    if (result?.ok) return result.stats;
    if (result)
      throw new PgcError(CODES[result.code], result.message, {
        retryable: result.code === 'NO_SPACE',
      });
    options.log.warn(
      { code, signal, stderr: worker.stderr.slice(-4000) },
      'extraction worker died without a result',
    );
    if (signal === 'SIGXCPU' || signal === 'SIGKILL') {
      throw new PgcError(
        FailureCode.ARCHIVE_LIMITS,
        `${what} was killed (${signal}): too much CPU time or memory`,
      );
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const line =
      worker.stderr
        .split('\n')
        .find((l) => /Error/.test(l))
        ?.trim() ?? '';
    throw new PgcError(
      request.op === 'extract' ? FailureCode.BAD_ARCHIVE : FailureCode.INTERNAL,
      `${what} failed: the worker ${how}${line ? ` (${line.slice(0, 200)})` : ''}`,
    );
  });
  return { stdin, done };
}

/** Starts a fresh worker for one request. */
export function startWorker(
  request: WorkerRequest,
  options: WorkerRunOptions & WorkerLimits,
): RunningWorker {
  return assign(new WorkerProcess(options, options.log), request, options);
}
