/**
 * The simulator's own API under /sim/ (no auth, JSON): define jobs, inspect them with their full
 * call history, inject faults, change clocks, register input replicas. Not part of PanDA.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ValidationError } from '../shared/errors.js';
import { BodyTooLargeError, boundedChunks, readBody, sendJson } from './http-io.js';
import { NEW_JOBS } from './job-definition.js';
import type { StoredJob } from './job-store.js';
import {
  discardTempFiles,
  MultipartError,
  multipartBoundary,
  parseMultipart,
} from './multipart.js';
import { PyFile } from './py-value.js';
import type { SimCore } from './sim-core.js';
import { pathSegment, sendFile } from './static-files.js';

const MAX_JSON_BYTES = 64 * 1024 * 1024;
const MAX_REPLICA_BYTES = 1024 * 1024 * 1024;

const FAULT = z
  .object({
    kind: z.enum(['http500', 'hang']),
    durationMs: z.number().int().positive().max(3_600_000),
    pathPrefix: z.string().startsWith('/').max(1024).default('/api/'),
  })
  .strict();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req, MAX_JSON_BYTES)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not JSON: ${(err as Error).message}`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  throw new HttpError(400, problems.join('; '));
}

export function jobView(job: StoredJob): Record<string, unknown> {
  const { def, state: s } = job;
  return {
    pandaId: def.pandaId,
    taskId: def.taskId,
    site: def.site,
    prodSourceLabel: def.prodSourceLabel,
    status: s.status,
    attemptNr: s.attemptNr,
    commandToPilot: s.commandToPilot,
    jobSubStatus: s.jobSubStatus,
    requestedStatus: s.requestedStatus,
    pilotErrorCode: s.pilotErrorCode,
    pilotErrorDiag: s.pilotErrorDiag,
    exeErrorCode: s.exeErrorCode,
    exeErrorDiag: s.exeErrorDiag,
    transExitCode: s.transExitCode,
    ddmErrorCode: s.ddmErrorCode,
    ddmErrorDiag: s.ddmErrorDiag,
    jobDispatcherErrorCode: s.jobDispatcherErrorCode,
    jobDispatcherErrorDiag: s.jobDispatcherErrorDiag,
    taskBufferErrorCode: s.taskBufferErrorCode,
    taskBufferErrorDiag: s.taskBufferErrorDiag,
    supErrorCode: s.supErrorCode,
    supErrorDiag: s.supErrorDiag,
    outputReport: s.outputReport,
    reported: s.reported,
    creationTimeMs: s.creationTimeMs,
    modificationTimeMs: s.modificationTimeMs,
    stateChangeTimeMs: s.stateChangeTimeMs,
    startTimeMs: s.startTimeMs,
    endTimeMs: s.endTimeMs,
    transformation: def.transformation,
    jobPars: def.jobPars,
    inputs: def.inputs,
    outputs: def.outputs,
    log: def.log,
    events: s.events,
    history: job.calls,
  };
}

async function registerFile(
  req: IncomingMessage,
  sim: SimCore,
): Promise<{ status: number; body: unknown }> {
  const boundary = multipartBoundary(req.headers['content-type']);
  if (boundary === undefined) throw new HttpError(400, 'POST /sim/files takes multipart/form-data');
  const form = await parseMultipart(
    boundedChunks(req, MAX_REPLICA_BYTES),
    boundary,
    sim.cache.uploadDir,
    {
      maxFileBytes: MAX_REPLICA_BYTES,
    },
  );
  try {
    const file = form.entries.get('file');
    const scope = form.entries.get('scope');
    const lfn = form.entries.get('lfn');
    const dataset = form.entries.get('dataset');
    if (!(file instanceof PyFile))
      throw new HttpError(400, 'multipart field "file" (a file part) is required');
    if (typeof scope !== 'string') throw new HttpError(400, 'multipart field "scope" is required');
    if (lfn !== undefined && typeof lfn !== 'string')
      throw new HttpError(400, '"lfn" must be a text field');
    if (dataset !== undefined && typeof dataset !== 'string')
      throw new HttpError(400, '"dataset" must be a text field');
    const name = lfn ?? file.filename.split('/').pop() ?? '';
    const result = await sim.replicas.register(scope, name, dataset, file.path);
    if (!result.ok) throw new HttpError(result.status, result.message);
    return { status: result.created ? 201 : 200, body: result.replica };
  } finally {
    await discardTempFiles(form.tempFiles);
  }
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  sim: SimCore,
): Promise<void> {
  const path = url.pathname;
  const verb = req.method ?? 'GET';
  const only = (...allowed: string[]): void => {
    if (!allowed.includes(verb))
      throw new HttpError(405, `${verb} ${path} is not supported (use ${allowed.join(' or ')})`);
  };
  if (path === '/sim/jobs') {
    only('GET', 'POST');
    if (verb === 'GET') {
      // ?view=status: only id and status, cheap enough to poll with thousands of jobs.
      const brief = url.searchParams.get('view') === 'status';
      const jobs = sim.store
        .all()
        .map((j) => (brief ? { pandaId: j.def.pandaId, status: j.state.status } : jobView(j)));
      return sendJson(res, 200, { jobs });
    }
    const body = parseWith(NEW_JOBS, await jsonBody(req));
    const created = sim.store.create(
      body.jobs,
      { baseUrl: sim.baseUrl(), findReplica: (s, l) => sim.replicas.find(s, l) },
      sim.now(),
    );
    sim.log.info({ ...created, count: created.pandaIds.length }, 'jobs defined');
    return sendJson(res, 200, created);
  }
  const jobMatch = /^\/sim\/jobs\/([^/]+)$/.exec(path);
  if (jobMatch !== null) {
    only('GET');
    const id = jobMatch[1] as string;
    if (!/^[0-9]{1,16}$/.test(id))
      throw new HttpError(400, `job id ${JSON.stringify(id)} is not a PandaID`);
    const job = sim.store.get(Number(id));
    if (job === undefined) throw new HttpError(404, `no job ${id}`);
    return sendJson(res, 200, jobView(job));
  }
  if (path === '/sim/calls') {
    only('GET');
    return sendJson(res, 200, { calls: sim.listApiCalls() });
  }
  if (path === '/sim/faults') {
    only('GET', 'POST', 'DELETE');
    if (verb === 'POST') {
      const fault = parseWith(FAULT, await jsonBody(req));
      sim.faults.add({
        kind: fault.kind,
        pathPrefix: fault.pathPrefix,
        untilMs: sim.now() + fault.durationMs,
      });
      sim.log.warn(fault, 'fault injected');
    } else if (verb === 'DELETE') {
      sim.faults.clear();
    }
    return sendJson(res, 200, { faults: sim.faults.active(sim.now()) });
  }
  if (path === '/sim/config') {
    only('GET', 'POST');
    if (verb === 'POST') {
      const patch = await jsonBody(req);
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
        throw new HttpError(400, 'POST /sim/config takes an object of timeouts');
      }
      return sendJson(res, 200, { timeouts: sim.setTimeouts(patch as Record<string, unknown>) });
    }
    return sendJson(res, 200, { timeouts: sim.getTimeouts() });
  }
  if (path === '/sim/files') {
    only('POST');
    const { status, body } = await registerFile(req, sim);
    return sendJson(res, status, body);
  }
  const fileMatch = /^\/sim\/files\/([^/]+)\/([^/]+)$/.exec(path);
  if (fileMatch !== null) {
    only('GET', 'HEAD');
    const scope = pathSegment(fileMatch[1] as string);
    const lfn = pathSegment(fileMatch[2] as string);
    const file =
      scope === undefined || lfn === undefined ? undefined : sim.replicas.pathOf(scope, lfn);
    return sendFile(req, res, file);
  }
  if (path === '/sim/replicas') {
    only('GET');
    return sendJson(res, 200, { replicas: sim.replicas.list() });
  }
  throw new HttpError(404, `no simulator route ${verb} ${path}`);
}

export async function handleSimApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  sim: SimCore,
): Promise<void> {
  try {
    await route(req, res, url, sim);
  } catch (err) {
    if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
    if (err instanceof ValidationError) return sendJson(res, 400, { error: err.message });
    if (err instanceof MultipartError) return sendJson(res, 400, { error: err.message });
    if (err instanceof BodyTooLargeError) {
      res.setHeader('connection', 'close');
      return sendJson(res, 413, { error: err.message });
    }
    throw err;
  }
}
