/** Bounded request-body reading and small reply helpers for the simulator's HTTP server. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** The request body is larger than the route allows. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`request body larger than ${limitBytes} bytes`);
  }
}

/** A body the server cannot decode (bad gzip, bad UTF-8): the real server answers HTTP 500. */
export class BadBodyError extends Error {
  override name = 'BadBodyError';
}

/** Reads the whole body, refusing more than `limitBytes` (announced or streamed). */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of boundedChunks(req, limitBytes)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** gunzip with a cap on the output, so a small bomb cannot fill memory. */
export function gunzipBounded(body: Buffer, limitBytes: number): Buffer {
  try {
    return gunzipSync(body, { maxOutputLength: limitBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new BodyTooLargeError(limitBytes);
    throw new BadBodyError(`Not a gzipped file (${(err as Error).message})`);
  }
}

/** UTF-8 decoding that fails like Python's bytes.decode('utf-8') instead of inserting U+FFFD. */
export function decodeUtf8(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new BadBodyError("'utf-8' codec can't decode the request body");
  }
}

export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': String(bytes.length),
    ...headers,
  });
  res.end(bytes);
}

/** The simulator's own /sim/ API speaks plain JSON. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const bytes = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(bytes.length),
  });
  res.end(bytes);
}

/** Reads and drops a body we do not use, up to a cap. */
export async function discardBody(req: IncomingMessage, limitBytes: number): Promise<void> {
  for await (const _ of boundedChunks(req, limitBytes)) {
    // drained
  }
}

/** The request's chunks, failing once more than `limitBytes` arrived (announced or streamed). */
export async function* boundedChunks(
  req: IncomingMessage,
  limitBytes: number,
): AsyncGenerator<Buffer> {
  const announced = Number(req.headers['content-length'] ?? 0);
  if (announced > limitBytes) throw new BodyTooLargeError(limitBytes);
  let size = 0;
  for await (const chunk of req) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size > limitBytes) throw new BodyTooLargeError(limitBytes);
    yield bytes;
  }
}
