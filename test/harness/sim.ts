/** Helpers for tests that drive the PanDA simulator: raw v1 calls, the /sim/ API, job definitions (shared/http.ts underneath). */
import { type HttpResponse, httpRequest } from '../../shared/http.js';
import { silentLogger } from '../../shared/logger.js';
import { PandaSim, type PandaSimOptions } from '../../sim/server.js';
import { encodeMultipart, type FormPart } from '../../sim/submit-client.js';

export const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

export function startSim(options: Partial<PandaSimOptions> = {}): Promise<PandaSim> {
  return PandaSim.start({ port: 0, log: silentLogger(), ...options });
}

export interface Reply {
  status: number;
  headers: HttpResponse['headers'];
  text: string;
}

export async function send(
  sim: PandaSim,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number } = {},
): Promise<Reply> {
  const res = await httpRequest({
    url: `${sim.url}${path}`,
    method,
    headers: options.headers,
    body: options.body,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  return { status: res.status, headers: res.headers, text: res.body.toString('utf8') };
}

export interface Envelope<T = unknown> {
  success: boolean;
  message: string;
  data: T;
}

/** A v1 call the way Harvester makes it: POST JSON, exact Content-Type, JSON reply. */
export async function v1<T = unknown>(
  sim: PandaSim,
  method: string,
  params: unknown,
  headers: Record<string, string> = {},
): Promise<Envelope<T>> {
  const reply = await send(sim, 'POST', `/api/v1/${method}`, {
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify(params),
  });
  if (reply.status !== 200) throw new Error(`${method}: HTTP ${reply.status}: ${reply.text}`);
  return JSON.parse(reply.text) as Envelope<T>;
}

/** A v1 GET with a query string; repeated keys for lists. */
export async function v1Get<T = unknown>(
  sim: PandaSim,
  method: string,
  query: string,
): Promise<Envelope<T>> {
  const reply = await send(sim, 'GET', `/api/v1/${method}?${query}`, {
    headers: { accept: 'application/json' },
  });
  if (reply.status !== 200) throw new Error(`${method}: HTTP ${reply.status}: ${reply.text}`);
  return JSON.parse(reply.text) as Envelope<T>;
}

export async function simApi<T = unknown>(
  sim: PandaSim,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const reply = await send(sim, method, path, {
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (reply.status < 200 || reply.status >= 300)
    throw new Error(`${method} ${path}: HTTP ${reply.status}: ${reply.text}`);
  return JSON.parse(reply.text) as T;
}

export async function defineJobs(
  sim: PandaSim,
  jobs: Record<string, unknown>[],
): Promise<{ pandaIds: number[]; taskId: number }> {
  return simApi(sim, 'POST', '/sim/jobs', { jobs });
}

export interface JobView {
  pandaId: number;
  status: string;
  attemptNr: number;
  commandToPilot: string | null;
  jobSubStatus: string | null;
  pilotErrorCode: number | null;
  ddmErrorCode: number | null;
  ddmErrorDiag: string | null;
  jobDispatcherErrorCode: number | null;
  jobDispatcherErrorDiag: string | null;
  taskBufferErrorCode: number | null;
  outputReport: string | null;
  startTimeMs: number | null;
  endTimeMs: number | null;
  history: { atMs: number; method: string; params: Record<string, unknown>; reply: Envelope }[];
  events: { type: string; atMs: number; message: string }[];
}

export function getJob(sim: PandaSim, pandaId: number): Promise<JobView> {
  return simApi<JobView>(sim, 'GET', `/sim/jobs/${pandaId}`);
}

export async function postMultipart(
  sim: PandaSim,
  path: string,
  parts: FormPart[],
  headers: Record<string, string> = {},
): Promise<Reply> {
  const { body, contentType } = encodeMultipart(parts);
  return send(sim, 'POST', path, {
    headers: { 'content-type': contentType, ...headers },
    body,
    timeoutMs: 60_000,
  });
}

/** The report Harvester sends for a finished job: every output and the log with guid/fsize/adler32. */
export function goodReport(lfns: readonly string[]): string {
  return JSON.stringify(
    Object.fromEntries(
      lfns.map((lfn, i) => [lfn, { guid: `guid-${i}`, fsize: 100 + i, adler32: '0a1b2c3d' }]),
    ),
  );
}

export interface DispatchedJob {
  PandaID: number;
  attemptNr: number;
  outFiles: string;
  logFile: string;
  [key: string]: unknown;
}

/** Defines one job at `site` and acquires it; returns the dispatched dict. */
export async function acquiredJob(
  sim: PandaSim,
  site: string,
  extra: Record<string, unknown> = {},
): Promise<DispatchedJob> {
  await defineJobs(sim, [
    { site, jobPars: '-p x', outputs: [{ lfn: `${site}.out.dat` }], ...extra },
  ]);
  const reply = await v1<{ jobs: DispatchedJob[] }>(sim, 'pilot/acquire_jobs', {
    site_name: site,
    prod_source_label: 'user',
  });
  const job = reply.data.jobs[0];
  if (!reply.success || job === undefined)
    throw new Error(`acquire at ${site} failed: ${reply.message}`);
  return job;
}
