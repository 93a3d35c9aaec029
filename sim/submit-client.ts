/**
 * The HTTP calls `pgc submit` makes, as panda-client does them (client Client.py::putFile:
 * multipart field `file`, `Accept: application/json`) plus the simulator's /sim/ calls.
 */
import { randomUUID } from 'node:crypto';
import { FailureCode, PgcError, UnavailableError } from '../shared/errors.js';
import { type HttpResponse, httpRequest } from '../shared/http.js';

/** A submission problem the user can fix (exit status 1). */
export class SubmitError extends PgcError {
  override name = 'SubmitError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(FailureCode.INVALID_ARGUMENT, message, { ...options, retryable: false });
  }
}

export type FormPart =
  | { name: string; value: string }
  | { name: string; filename: string; data: Buffer };

export function encodeMultipart(parts: readonly FormPart[]): { body: Buffer; contentType: string } {
  const boundary = `----pgc-${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      'filename' in part
        ? `form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: application/octet-stream`
        : `form-data; name="${part.name}"`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`));
    chunks.push('filename' in part ? part.data : Buffer.from(part.value, 'utf8'));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface SimClientOptions {
  baseUrl: string;
  token?: string;
  timeoutMs: number;
}

export class SimClient {
  constructor(private readonly o: SimClientOptions) {}

  private async send(
    method: 'GET' | 'POST',
    path: string,
    body?: { data: Buffer; contentType: string },
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = body.contentType;
    if (this.o.token !== undefined) headers.authorization = `Bearer ${this.o.token}`;
    const url = `${this.o.baseUrl}${path}`;
    try {
      return await httpRequest({
        url,
        method,
        headers,
        body: body?.data,
        timeoutMs: this.o.timeoutMs,
      });
    } catch (err) {
      if (err instanceof UnavailableError) {
        throw new UnavailableError(
          `cannot reach the PanDA server at ${this.o.baseUrl}: ${err.message}`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  private static json(res: HttpResponse, what: string): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new SubmitError(
        `${what}: HTTP ${res.status}, not JSON: ${res.body.toString('utf8').slice(0, 200)}`,
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SubmitError(`${what}: unexpected reply ${JSON.stringify(value).slice(0, 200)}`);
    }
    return value as Record<string, unknown>;
  }

  /** upload_cache_file; returns the server's message when it refuses. */
  async uploadCacheFile(
    name: string,
    data: Buffer,
  ): Promise<{ success: boolean; message: string }> {
    const { body, contentType } = encodeMultipart([{ name: 'file', filename: name, data }]);
    const res = await this.send('POST', '/api/v1/file_server/upload_cache_file', {
      data: body,
      contentType,
    });
    if (res.status !== 200) {
      throw new SubmitError(
        `upload of ${name}: HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`,
      );
    }
    const reply = SimClient.json(res, `upload of ${name}`);
    return { success: reply.success === true, message: String(reply.message ?? '') };
  }

  /** The bytes of a cache file, or undefined if the cache has none of that name. */
  async fetchCacheFile(name: string): Promise<Buffer | undefined> {
    const res = await this.send('GET', `/cache/${encodeURIComponent(name)}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new SubmitError(`download of /cache/${name}: HTTP ${res.status}`);
    return res.body;
  }

  async registerInput(scope: string, lfn: string, data: Buffer): Promise<Record<string, unknown>> {
    const form = encodeMultipart([
      { name: 'scope', value: scope },
      { name: 'lfn', value: lfn },
      { name: 'file', filename: lfn, data },
    ]);
    const res = await this.send('POST', '/sim/files', {
      data: form.body,
      contentType: form.contentType,
    });
    const reply = SimClient.json(res, `registering input ${lfn}`);
    if (res.status !== 200 && res.status !== 201) {
      throw new SubmitError(
        `registering input ${lfn}: HTTP ${res.status}: ${String(reply.error ?? '')}`,
      );
    }
    return reply;
  }

  async createJobs(
    jobs: readonly Record<string, unknown>[],
  ): Promise<{ taskId: number; pandaIds: number[] }> {
    const data = Buffer.from(JSON.stringify({ jobs }));
    const res = await this.send('POST', '/sim/jobs', { data, contentType: 'application/json' });
    const reply = SimClient.json(res, 'creating jobs');
    if (res.status !== 200)
      throw new SubmitError(`creating jobs: HTTP ${res.status}: ${String(reply.error ?? '')}`);
    const { taskId, pandaIds } = reply;
    if (typeof taskId !== 'number' || !Array.isArray(pandaIds)) {
      throw new SubmitError(
        `creating jobs: unexpected reply ${JSON.stringify(reply).slice(0, 200)}`,
      );
    }
    return { taskId, pandaIds: pandaIds as number[] };
  }
}
