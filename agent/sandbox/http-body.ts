/**
 * One HTTP(S) GET, redirects followed under the URL policy, the body piped into a sink while
 * its size is capped and its sha256 and adler32 computed. No retries here (download.ts owns
 * them). Errors are DownloadErrors, except failures of the sink itself, which come back as
 * SinkFailure so the caller can tell "the network broke" from "the consumer stopped reading"
 * (e.g. the extraction worker rejected the archive and exited).
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Adler32 } from '../../shared/checksum.js';
import { type FailureCode, PgcError } from '../../shared/errors.js';
import { PACKAGE_VERSION } from '../../shared/package-info.js';
import { checkFetchUrl } from './url-policy.js';

export type DownloadFailureReason =
  | 'bad-url'
  | 'scheme'
  | 'host'
  | 'http-status'
  | 'too-many-redirects'
  | 'too-large'
  | 'truncated'
  | 'connection'
  | 'timeout'
  | 'checksum'
  | 'cancelled'
  | 'no-space'
  | 'io';

/** A failed download; `reason` says which rule or fault it was. */
export class DownloadError extends PgcError {
  override name = 'DownloadError';
  constructor(
    readonly reason: DownloadFailureReason,
    code: FailureCode,
    message: string,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The sink failed (not the network); `cause` is its error. */
export class SinkFailure extends Error {
  override name = 'SinkFailure';
}

export interface DownloadResult {
  sizeBytes: number;
  sha256: string;
  adler32: string;
}

export type Fail = (
  reason: DownloadFailureReason,
  detail: string,
  retryable: boolean,
  cause?: unknown,
) => DownloadError;

export interface BodyRequest {
  url: string;
  maxBytes: number;
  allowHosts: readonly string[];
  ca?: Buffer;
  signal: AbortSignal;
  fail: Fail;
  /** Called whenever bytes arrive (resets the stall timer). */
  progress: () => void;
  /** Bytes read ahead of a slow sink (default 1 MiB). */
  bufferBytes?: number;
  /** Skip adler32 (CPU the sandbox path does not need); the result then has adler32 ''. */
  skipAdler32?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;

/** GETs the URL and pipes the body into `sink`; resolves once the sink has finished. */
export async function fetchBody(request: BodyRequest, sink: Writable): Promise<DownloadResult> {
  const response = await follow(request);
  return receive(response, request, sink);
}

async function follow(request: BodyRequest): Promise<IncomingMessage> {
  const first = checkFetchUrl(request.url, request.allowHosts);
  if (!first.ok) throw request.fail(first.problem, first.message, false);
  let current = first.url;
  for (let hop = 0; ; hop++) {
    const response = await send(current, request);
    const status = response.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      response.resume();
      const location = response.headers.location;
      if (location === undefined) {
        throw request.fail('http-status', `HTTP ${status} without a Location`, false);
      }
      if (hop >= MAX_REDIRECTS) {
        throw request.fail('too-many-redirects', `more than ${MAX_REDIRECTS} redirects`, false);
      }
      const next = checkFetchUrl(location, request.allowHosts, current);
      if (!next.ok) throw request.fail(next.problem, `redirect refused: ${next.message}`, false);
      current = next.url;
      continue;
    }
    if (status < 200 || status > 299) {
      response.resume();
      throw request.fail('http-status', `HTTP ${status}`, status >= 500);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > request.maxBytes) {
      response.destroy();
      throw request.fail(
        'too-large',
        `${declared} bytes is more than the ${request.maxBytes}-byte limit`,
        false,
      );
    }
    return response;
  }
}

function send(url: URL, request: BodyRequest): Promise<IncomingMessage> {
  const get = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = get(url, {
      method: 'GET',
      agent: false,
      signal: request.signal,
      headers: { 'user-agent': `panda-gc/${PACKAGE_VERSION}`, 'accept-encoding': 'identity' },
      ...(request.ca ? { ca: request.ca } : {}),
    });
    req.on('response', (response) => {
      request.progress();
      resolve(response);
    });
    req.on('error', reject);
    req.end();
  });
}

async function receive(
  response: IncomingMessage,
  request: BodyRequest,
  sink: Writable,
): Promise<DownloadResult> {
  const declared = Number(response.headers['content-length']);
  const sha = createHash('sha256');
  const adler = request.skipAdler32 ? undefined : new Adler32();
  let size = 0;
  // Which side broke first: when one side fails, pipeline() destroys the other, which then
  // reports an error of its own.
  let first: 'source' | 'sink' | undefined;
  const sourceBroke = (): void => {
    first ??= 'source';
  };
  response.once('aborted', sourceBroke);
  response.once('error', sourceBroke);
  response.once('close', () => {
    if (!response.complete) sourceBroke();
  });
  sink.once('error', () => {
    first ??= 'sink';
  });
  // A slow consumer holds the download back; while it keeps draining, that is not a stall.
  sink.on('drain', request.progress);
  const meter = new Transform({
    writableHighWaterMark: 1 << 20,
    readableHighWaterMark: request.bufferBytes ?? 1 << 20,
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > request.maxBytes) {
        callback(
          request.fail('too-large', `body exceeds the ${request.maxBytes}-byte limit`, false),
        );
        return;
      }
      request.progress();
      sha.update(chunk);
      adler?.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(response, meter, sink, { signal: request.signal });
  } catch (err) {
    if (err instanceof DownloadError || request.signal.aborted) throw err;
    if (first === 'sink') throw new SinkFailure('the consumer stopped', { cause: err });
    if (Number.isFinite(declared)) {
      throw request.fail(
        'truncated',
        `reply broken off after ${size} of ${declared} bytes`,
        true,
        err,
      );
    }
    throw request.fail('connection', `reply broken off after ${size} bytes`, true, err);
  }
  if (Number.isFinite(declared) && size !== declared) {
    throw request.fail('truncated', `reply broken off after ${size} of ${declared} bytes`, true);
  }
  return { sizeBytes: size, sha256: sha.digest('hex'), adler32: adler?.hex() ?? '' };
}
