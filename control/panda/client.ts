/**
 * A typed client for the PanDA server's v1 JSON API, as a remote Harvester uses it
 * (reference/panda-protocol.md §0–§3). Headers are exactly `Content-Type: application/json` and
 * `Accept: application/json`: the server compares strings, and `application/json; charset=utf-8`
 * makes it ignore every parameter. The body is parsed as JSON whatever the reply's content type
 * (the server labels JSON text/plain). Calls have deadlines and are retried with jittered
 * backoff on 5xx, timeouts and connection errors — except acquire_jobs, see acquireJobs().
 */
import { type BackoffPolicy, backoffDelayMs } from '../../shared/backoff.js';
import { FailureCode, PgcError, TimeoutError, UnavailableError } from '../../shared/errors.js';
import { type HttpTls, httpRequest } from '../../shared/http.js';
import type { Logger } from '../../shared/logger.js';
import { PandaHttpError, PandaProtocolError, PandaRejectedError } from './errors.js';
import type { RawPandaJob } from './job-fields.js';
import type {
  AcquireJobsParams,
  JobStatusReply,
  UpdateJobParams,
  UpdateReply,
} from './wire-types.js';

export interface PandaClientOptions {
  /** Server URL without the API path, e.g. https://pandaserver.cern.ch:25443. */
  baseUrl: string;
  /** OIDC bearer token, and the VO it belongs to (sent as Origin). */
  token?: string;
  origin?: string;
  /** CA to trust and/or an x509 client certificate. */
  tls?: HttpTls;
  /** Deadline of each attempt. */
  timeoutMs?: number;
  /** Retries after the first attempt, for calls that may be repeated. */
  retries?: number;
  backoff?: BackoffPolicy;
  log: Logger;
  /** Injected for tests: waits between attempts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told of every attempt's outcome and duration (metrics). */
  onCall?: (method: string, outcome: CallOutcome, durationMs: number) => void;
}

/** How one HTTP attempt at PanDA ended, coarse enough for a metric label. */
export type CallOutcome = 'ok' | 'rejected' | 'http_error' | 'protocol' | 'timeout' | 'unreachable';

function outcomeOf(err: unknown): CallOutcome {
  if (err instanceof PandaRejectedError) return 'rejected';
  if (err instanceof PandaHttpError) return 'http_error';
  if (err instanceof PandaProtocolError) return 'protocol';
  if (err instanceof TimeoutError) return 'timeout';
  return 'unreachable';
}

interface Envelope {
  success: boolean;
  message: string;
  data: unknown;
}

const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 500,
  maxMs: 10_000,
  multiplier: 2,
  jitter: 0.5,
};

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new PgcError(FailureCode.CANCELLED, 'cancelled while waiting to retry'));
      },
      { once: true },
    );
  });
}

/** True when the request never reached the server, so repeating it cannot do anything twice. */
function neverSent(err: unknown): boolean {
  const cause =
    err instanceof UnavailableError ? (err.cause as { code?: string } | undefined) : undefined;
  return (
    cause?.code === 'ECONNREFUSED' || cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN'
  );
}

export class PandaClient {
  private readonly api: string;
  private readonly log: Logger;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: PandaClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new PgcError(
        FailureCode.INVALID_ARGUMENT,
        `PanDA URL must be http(s), got ${options.baseUrl}`,
      );
    }
    this.api = `${options.baseUrl.replace(/\/+$/, '')}/api/v1`;
    this.log = options.log.child({ component: 'panda-client' });
    this.sleep = options.sleep ?? abortableSleep;
  }

  /** URL of a file in the PanDA cache (a static path with no API envelope). */
  static cacheUrl(sourceUrl: string, name: string): string {
    return `${sourceUrl.replace(/\/+$/, '')}/cache/${encodeURIComponent(name)}`;
  }

  /**
   * pilot/acquire_jobs. Returns [] on "No jobs in PanDA". Jobs move `activated → sent` on the
   * server as they are handed out, so a call that may have reached the server is never repeated:
   * a lost reply would strand the first batch in `sent` until PanDA fails it 30 min later
   * (code 102). Only a connection that was refused outright is retried.
   */
  async acquireJobs(params: AcquireJobsParams, signal?: AbortSignal): Promise<RawPandaJob[]> {
    const envelope = await this.call('pilot/acquire_jobs', {
      method: 'POST',
      body: params,
      signal,
      retry: neverSent,
      acceptFailure: true,
    });
    if (!envelope.success) {
      if (envelope.message === 'No jobs in PanDA') return [];
      throw new PandaRejectedError('pilot/acquire_jobs', envelope.message);
    }
    const data = envelope.data as {
      StatusCode?: unknown;
      jobs?: unknown;
      errorDialog?: unknown;
    } | null;
    if (data?.StatusCode !== 0) {
      throw new PandaRejectedError(
        'pilot/acquire_jobs',
        `StatusCode ${String(data?.StatusCode)}: ${String(data?.errorDialog ?? '')}`,
      );
    }
    if (!Array.isArray(data.jobs))
      throw new PandaProtocolError('pilot/acquire_jobs', 'data.jobs is not a list');
    return data.jobs.filter(
      (j): j is RawPandaJob => typeof j === 'object' && j !== null && !Array.isArray(j),
    );
  }

  /** pilot/update_job. A refusal (e.g. "Invalid job status") throws PandaRejectedError. */
  async updateJob(update: UpdateJobParams, signal?: AbortSignal): Promise<UpdateReply> {
    const envelope = await this.call('pilot/update_job', { method: 'POST', body: update, signal });
    return readUpdateReply('pilot/update_job', envelope);
  }

  /**
   * pilot/update_jobs_bulk: one call for many jobs; the reply has one envelope per job, in order.
   * A per-job refusal (PandaRejectedError) or server-side error is returned in place; the others stand.
   */
  async updateJobsBulk(
    updates: readonly UpdateJobParams[],
    harvesterId?: string,
    signal?: AbortSignal,
  ): Promise<Array<UpdateReply | PgcError>> {
    const body = { job_list: updates, ...(harvesterId ? { harvester_id: harvesterId } : {}) };
    const envelope = await this.call('pilot/update_jobs_bulk', { method: 'POST', body, signal });
    if (!Array.isArray(envelope.data) || envelope.data.length !== updates.length) {
      throw new PandaProtocolError(
        'pilot/update_jobs_bulk',
        `expected ${updates.length} replies, got ${JSON.stringify(envelope.data)?.slice(0, 200)}`,
      );
    }
    return envelope.data.map((item) => {
      const inner = asEnvelope('pilot/update_jobs_bulk', item);
      try {
        return readUpdateReply('pilot/update_jobs_bulk', inner);
      } catch (err) {
        if (err instanceof PgcError) return err;
        throw err;
      }
    });
  }

  /** job/get_status: status and pending command of each job, in request order. */
  async getStatus(pandaIds: readonly number[], signal?: AbortSignal): Promise<JobStatusReply[]> {
    const query = pandaIds.map((id) => `job_ids=${encodeURIComponent(String(id))}`).join('&');
    const envelope = await this.call('job/get_status', { method: 'GET', query, signal });
    if (!Array.isArray(envelope.data) || envelope.data.length !== pandaIds.length) {
      throw new PandaProtocolError('job/get_status', `expected ${pandaIds.length} statuses`);
    }
    return envelope.data.map((item) => {
      const s = item as { status?: unknown; command?: unknown };
      if (typeof s?.status !== 'string')
        throw new PandaProtocolError('job/get_status', 'a status is not a string');
      return { status: s.status, command: normaliseCommand(s.command) };
    });
  }

  /** system/is_alive: true when the server answers success. */
  async isAlive(signal?: AbortSignal): Promise<boolean> {
    const envelope = await this.call('system/is_alive', {
      method: 'GET',
      signal,
      acceptFailure: true,
    });
    return envelope.success;
  }

  private headers(method: 'GET' | 'POST'): Record<string, string> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method === 'POST') headers['Content-Type'] = 'application/json';
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    if (this.options.origin) headers.Origin = this.options.origin;
    return headers;
  }

  private async call(
    path: string,
    req: {
      method: 'GET' | 'POST';
      body?: unknown;
      query?: string;
      signal?: AbortSignal;
      retry?: (err: unknown) => boolean;
      acceptFailure?: boolean;
    },
  ): Promise<Envelope> {
    const retries = this.options.retries ?? 3;
    const mayRetry = req.retry ?? ((err: unknown) => err instanceof PgcError && err.retryable);
    for (let attempt = 0; ; attempt++) {
      const startedAt = performance.now();
      try {
        const envelope = await this.once(path, req);
        this.options.onCall?.(
          path,
          envelope.success ? 'ok' : 'rejected',
          performance.now() - startedAt,
        );
        if (!envelope.success && !req.acceptFailure)
          throw new PandaRejectedError(path, envelope.message);
        return envelope;
      } catch (err) {
        if (!(err instanceof PandaRejectedError))
          this.options.onCall?.(path, outcomeOf(err), performance.now() - startedAt);
        if (attempt >= retries || !mayRetry(err) || req.signal?.aborted) throw err;
        const delay = backoffDelayMs(attempt, this.options.backoff ?? DEFAULT_BACKOFF);
        this.log.warn(
          { method: path, attempt: attempt + 1, delayMs: delay, err: (err as Error).message },
          'PanDA call failed; retrying',
        );
        await this.sleep(delay, req.signal);
      }
    }
  }

  private async once(
    path: string,
    req: { method: 'GET' | 'POST'; body?: unknown; query?: string; signal?: AbortSignal },
  ): Promise<Envelope> {
    const url = `${this.api}/${path}${req.query ? `?${req.query}` : ''}`;
    const response = await httpRequest({
      url,
      method: req.method,
      headers: this.headers(req.method),
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      timeoutMs: this.options.timeoutMs ?? 60_000,
      ...(this.options.tls ? { tls: this.options.tls } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    // Non-UTF-8 bytes become U+FFFD instead of failing the whole batch; translation names them.
    const text = new TextDecoder('utf-8', { fatal: false }).decode(response.body);
    if (response.status !== 200) throw new PandaHttpError(path, response.status, text.trim());
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new PandaProtocolError(path, `not JSON: ${text.slice(0, 200)}`);
    }
    return asEnvelope(path, parsed);
  }
}

function asEnvelope(method: string, value: unknown): Envelope {
  const e = value as Partial<Envelope> | null;
  if (typeof e !== 'object' || e === null || typeof e.success !== 'boolean') {
    throw new PandaProtocolError(
      method,
      `not a {success, message, data} envelope: ${JSON.stringify(value)?.slice(0, 200)}`,
    );
  }
  return {
    success: e.success,
    message: typeof e.message === 'string' ? e.message : '',
    data: e.data,
  };
}

function normaliseCommand(command: unknown): string | null {
  return typeof command === 'string' && command !== '' && command !== 'NULL' ? command : null;
}

function readUpdateReply(method: string, envelope: Envelope): UpdateReply {
  if (!envelope.success) throw new PandaRejectedError(method, envelope.message);
  const data = envelope.data as {
    StatusCode?: unknown;
    command?: unknown;
    ErrorDiag?: unknown;
  } | null;
  if (typeof data?.StatusCode !== 'number')
    throw new PandaProtocolError(method, 'data.StatusCode is missing');
  if (data.StatusCode !== 0) {
    throw new PgcError(
      FailureCode.UNAVAILABLE,
      `PanDA ${method}: StatusCode ${data.StatusCode} ${String(data.ErrorDiag ?? '')}`.trim(),
      {
        retryable: data.StatusCode === 10 || data.StatusCode === 30,
      },
    );
  }
  return { statusCode: data.StatusCode, command: normaliseCommand(data.command) };
}
