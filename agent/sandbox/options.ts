/** SandboxManager options: the public shape, defaults, and validation that reports every problem. */
import { resolve } from 'node:path';
import { ConfigError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { ExtractLimits } from './worker-protocol.js';

export interface SandboxBuildOptions {
  /** Run with /bin/sh -c in the staged tree, e.g. "test -f requirements.txt && pip install --target . -r requirements.txt || true". */
  command: string;
  /** Default 600_000. */
  timeoutMs?: number;
  /**
   * Environment of the build (it runs user code, so it does not inherit the agent's). Default:
   * PATH=/usr/local/bin:/usr/bin:/bin, LANG=C.UTF-8, HOME and TMPDIR in scratch directories;
   * entries given here are added or override those.
   */
  env?: Record<string, string>;
}

export interface SandboxOptions {
  /** Agent-owned dir; created 0700 with store/, staging/, index/, locks/ (and logs/) inside. */
  root: string;
  log: Logger;
  /** Hosts (exact, or *.suffix) allowed besides loopback (127.0.0.0/8, ::1, localhost). */
  allowHosts?: string[];
  /** Store disk quota for LRU eviction; default 10 GiB. */
  quotaBytes?: number;
  /** Whole download deadline; default 300_000. */
  fetchTimeoutMs?: number;
  /** Default 1 GiB. */
  maxDownloadBytes?: number;
  /** Retries on 5xx/connection errors/timeouts, jittered backoff; default 3. */
  fetchRetries?: number;
  /** Default 4 GiB total. */
  maxExtractedBytes?: number;
  /** Default 100_000. */
  maxEntries?: number;
  /** Path components; default 64. */
  maxDepth?: number;
  /** Default 1024 (and 255 per component). */
  maxPathBytes?: number;
  /** Default 600_000. */
  extractTimeoutMs?: number;
  /** Optional build step, run once per digest in the staged tree before it is frozen. */
  build?: SandboxBuildOptions;
  /** Extra CA for HTTPS downloads. */
  tls?: { ca?: Buffer };
}

export interface ResolvedSandboxOptions {
  root: string;
  log: Logger;
  allowHosts: readonly string[];
  quotaBytes: number;
  fetchTimeoutMs: number;
  maxDownloadBytes: number;
  fetchRetries: number;
  limits: ExtractLimits;
  extractTimeoutMs: number;
  build: { command: string; timeoutMs: number; env: Record<string, string> } | undefined;
  maxBuildLogBytes: number;
  tls: { ca?: Buffer } | undefined;
}

const GiB = 1024 ** 3;
/** PAX/long-name headers only carry names here, and names are capped at maxPathBytes. */
const MAX_META_ENTRY_BYTES = 64 * 1024;

export function resolveSandboxOptions(options: SandboxOptions): ResolvedSandboxOptions {
  const problems: string[] = [];
  const num = (name: string, value: number | undefined, fallback: number, min = 1): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value < min || !Number.isInteger(value)) {
      problems.push(`sandbox.${name} must be an integer >= ${min}, got ${value}`);
      return fallback;
    }
    return value;
  };
  if (typeof options.root !== 'string' || options.root === '')
    problems.push('sandbox.root is required');
  const maxExtractedBytes = num('maxExtractedBytes', options.maxExtractedBytes, 4 * GiB);
  const maxEntries = num('maxEntries', options.maxEntries, 100_000);
  const limits: ExtractLimits = {
    maxEntries,
    maxDepth: num('maxDepth', options.maxDepth, 64),
    maxPathBytes: num('maxPathBytes', options.maxPathBytes, 1024),
    maxComponentBytes: 255,
    maxExtractedBytes,
    maxMetaEntryBytes: MAX_META_ENTRY_BYTES,
    // Every entry costs a 512-byte header, up to 511 bytes of padding and perhaps a PAX header
    // of similar size; anything beyond that is a decompression bomb (T17).
    maxStreamBytes: maxExtractedBytes + maxEntries * 2048 + 1024 * 1024,
  };
  const allowHosts = options.allowHosts ?? [];
  if (
    !Array.isArray(allowHosts) ||
    allowHosts.some((h) => typeof h !== 'string' || h.trim() === '')
  ) {
    problems.push('sandbox.allowHosts must be a list of host names or *.suffix patterns');
  }
  let build: ResolvedSandboxOptions['build'];
  if (options.build !== undefined) {
    if (typeof options.build.command !== 'string' || options.build.command.trim() === '') {
      problems.push('sandbox.build.command must be a non-empty shell command');
    }
    build = {
      command: options.build.command,
      timeoutMs: num('build.timeoutMs', options.build.timeoutMs, 600_000),
      env: { ...options.build.env },
    };
  }
  const resolved: ResolvedSandboxOptions = {
    root: resolve(options.root ?? ''),
    log: options.log,
    allowHosts,
    quotaBytes: num('quotaBytes', options.quotaBytes, 10 * GiB, 0),
    fetchTimeoutMs: num('fetchTimeoutMs', options.fetchTimeoutMs, 300_000),
    maxDownloadBytes: num('maxDownloadBytes', options.maxDownloadBytes, GiB),
    fetchRetries: num('fetchRetries', options.fetchRetries, 3, 0),
    limits,
    extractTimeoutMs: num('extractTimeoutMs', options.extractTimeoutMs, 600_000),
    build,
    maxBuildLogBytes: 16 * 1024 * 1024,
    tls: options.tls,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}
