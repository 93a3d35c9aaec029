/**
 * The contract between the agent and its short-lived extraction worker: on its stdin one JSON
 * request line, then the archive (streamed by the agent as it downloads); on its stdout a
 * "ready" line once loaded, then one JSON result line. Kept free of imports beyond the
 * entry policy so the worker starts fast (no logger, no generated protobuf code).
 */
import type { ArchiveProblemCode, EntryLimits } from './entry-policy.js';

export interface ExtractLimits extends EntryLimits {
  /** PAX and GNU long-name headers above this are refused (T24). */
  maxMetaEntryBytes: number;
  /** Cap on the decompressed tar stream, headers and padding included (T17). */
  maxStreamBytes: number;
}

export type WorkerRequest =
  | {
      /** Extract the archive streamed on stdin. */
      op: 'extract';
      /** An empty directory the agent created for the tree. */
      target: string;
      limits: ExtractLimits;
      /** Make the tree read-only right away (no build step follows). */
      freeze: boolean;
    }
  | {
      /** Verify and freeze a tree a build step has changed. */
      op: 'freeze';
      target: string;
    };

export interface WorkerStats {
  entries: number;
  files: number;
  dirs: number;
  /** Sum of file sizes. */
  bytes: number;
  /** Allocated blocks of files and directories, for the store quota. */
  diskBytes: number;
}

export type WorkerProblemCode = ArchiveProblemCode | 'NO_SPACE' | 'BUILD_FAILED' | 'INTERNAL';

export type WorkerResult =
  | { ok: true; stats: WorkerStats }
  | { ok: false; code: WorkerProblemCode; message: string };

const PROBLEM_CODES: ReadonlySet<string> = new Set([
  'UNSAFE_ARCHIVE',
  'ARCHIVE_LIMITS',
  'BAD_ARCHIVE',
  'NO_SPACE',
  'BUILD_FAILED',
  'INTERNAL',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isStats(value: unknown): value is WorkerStats {
  return (
    isRecord(value) &&
    ['entries', 'files', 'dirs', 'bytes', 'diskBytes'].every(
      (k) => typeof value[k] === 'number' && Number.isFinite(value[k]),
    )
  );
}

/** The worker's result from its stdout (the last non-empty line), or undefined if malformed. */
export function parseWorkerResult(stdout: string): WorkerResult | undefined {
  const line = stdout.trimEnd().split('\n').pop();
  if (!line) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  if (value.ok === true && isStats(value.stats)) return { ok: true, stats: value.stats };
  if (
    value.ok === false &&
    typeof value.code === 'string' &&
    PROBLEM_CODES.has(value.code) &&
    typeof value.message === 'string'
  ) {
    return { ok: false, code: value.code as WorkerProblemCode, message: value.message };
  }
  return undefined;
}

function isLimits(value: unknown): value is ExtractLimits {
  return (
    isRecord(value) &&
    [
      'maxEntries',
      'maxDepth',
      'maxPathBytes',
      'maxComponentBytes',
      'maxExtractedBytes',
      'maxMetaEntryBytes',
      'maxStreamBytes',
    ].every((k) => typeof value[k] === 'number' && (value[k] as number) > 0)
  );
}

/** The request from the worker's first stdin line, or undefined if malformed. */
export function parseWorkerRequest(arg: string | undefined): WorkerRequest | undefined {
  if (arg === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(arg);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.target !== 'string') return undefined;
  if (value.op === 'freeze') return { op: 'freeze', target: value.target };
  if (value.op === 'extract' && typeof value.freeze === 'boolean' && isLimits(value.limits)) {
    return {
      op: 'extract',
      target: value.target,
      limits: value.limits,
      freeze: value.freeze,
    };
  }
  return undefined;
}
