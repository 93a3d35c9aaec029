/**
 * One small HTTP(S) client for every outgoing call (PanDA, the simulator, downloads): a deadline
 * for the whole exchange, a cap on the reply size, client certificates, and errors typed by what
 * went wrong (TIMEOUT, UNAVAILABLE, PAYLOAD_TOO_LARGE) so callers can decide to retry.
 */
import { request as httpRequestRaw, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequestRaw } from 'node:https';
import { FailureCode, PgcError, TimeoutError, UnavailableError } from './errors.js';

export interface HttpTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Deadline for the whole exchange, connect to last byte. */
  timeoutMs: number;
  tls?: HttpTls;
  /** Replies larger than this fail with PAYLOAD_TOO_LARGE; default 64 MiB. */
  maxResponseBytes?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends one request and reads the whole reply. Never retries; callers own their retry policy. */
export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(
      new PgcError(
        FailureCode.INVALID_ARGUMENT,
        `unsupported URL scheme ${url.protocol} in ${req.url}`,
      ),
    );
  }
  const maxBytes = req.maxResponseBytes ?? 64 * 1024 * 1024;
  const body =
    req.body === undefined
      ? undefined
      : Buffer.isBuffer(req.body)
        ? req.body
        : Buffer.from(req.body);
  const headers: Record<string, string> = { ...req.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);
  const send = url.protocol === 'https:' ? httpsRequestRaw : httpRequestRaw;
  const what = `${req.method ?? 'GET'} ${url.origin}${url.pathname}`;

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (err) {
        outgoing.destroy();
        reject(err);
      } else if (res) resolve(res);
    };
    const timer = setTimeout(
      () => finish(new TimeoutError(`${what}: no complete reply within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    const onAbort = (): void => finish(new PgcError(FailureCode.CANCELLED, `${what}: cancelled`));
    req.signal?.addEventListener('abort', onAbort);

    const outgoing = send(
      url,
      {
        method: req.method ?? 'GET',
        headers,
        ...(req.tls?.ca ? { ca: req.tls.ca } : {}),
        ...(req.tls?.cert ? { cert: req.tls.cert, key: req.tls.key } : {}),
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            finish(
              new PgcError(
                FailureCode.PAYLOAD_TOO_LARGE,
                `${what}: reply larger than ${maxBytes} bytes`,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        incoming.on('end', () =>
          finish(undefined, {
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            body: Buffer.concat(chunks),
          }),
        );
        incoming.on('error', (err) =>
          finish(new UnavailableError(`${what}: reply broken off: ${err.message}`, { cause: err })),
        );
      },
    );
    outgoing.on('error', (err) =>
      finish(new UnavailableError(`${what}: ${err.message}`, { cause: err })),
    );
    if (req.signal?.aborted) onAbort();
    outgoing.end(body);
  });
}
