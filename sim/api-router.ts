/**
 * The /api/v1 (and /api/latest) entry point, in the order of srv server/panda.py::application and
 * api/v1/common.py::request_validation: unknown method → 403; a bearer token that fails → 403;
 * body decoding failures → 500; then, inside the envelope, credentials ("SSL secure connection is
 * required"), the HTTP method, argument binding and types, and finally the handler.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type ApiMethod, findApiMethod } from './api-signatures.js';
import { SOURCES_LIMIT_BYTES } from './cache.js';
import { encodeEnvelope, envelope, wantsJsonReply } from './envelope.js';
import { BadBodyError, BodyTooLargeError, sendText } from './http-io.js';
import { getStatus, isAlive, kill, setCommand } from './job-api.js';
import { discardTempFiles, MultipartError } from './multipart.js';
import { type Args, acquireJobs, getJobStatus, updateJob, updateJobsBulk } from './pilot-api.js';
import { PyJsonError } from './py-json.js';
import type { PyDict, PyFile } from './py-value.js';
import { readRequestParams } from './request-params.js';
import { bindArguments } from './signature.js';
import type { SimCore } from './sim-core.js';

export const MESSAGE_SSL = 'SSL secure connection is required';
// JSON and form bodies; Harvester's bulk updates of 100 jobs with reports stay far below this.
const MAX_BODY_BYTES = 32 * 1024 * 1024;
// The largest sandbox the cache accepts, plus room for the multipart framing.
const MAX_UPLOAD_BYTES = SOURCES_LIMIT_BYTES + 1024 * 1024;

type Handler = (args: Args, sim: SimCore, req: IncomingMessage) => PyDict | Promise<PyDict>;

const HANDLERS: Readonly<Record<string, Handler>> = {
  'pilot/acquire_jobs': acquireJobs,
  'pilot/update_job': (args, sim) => updateJob(args, sim),
  'pilot/update_jobs_bulk': updateJobsBulk,
  'pilot/get_job_status': getJobStatus,
  'job/get_status': getStatus,
  'job/kill': kill,
  'job/set_command': setCommand,
  'system/is_alive': isAlive,
  'file_server/upload_cache_file': async (args, sim, req) => {
    const file = args.get('file') as PyFile;
    const requestBytes = Number(req.headers['content-length'] ?? file.sizeBytes);
    const verdict = await sim.cache.accept(file, requestBytes);
    return verdict.ok ? envelope(true) : envelope(false, verdict.message);
  },
};

// Early refusals do not read the body: close the connection instead of draining an upload.
const CLOSE = { connection: 'close' };

function forbidden(res: ServerResponse, name: string): void {
  sendText(res, 403, `ERROR : method ${name} is forbidden`, CLOSE);
}

/** undefined when the caller may go on; otherwise the reason the token was refused. */
function tokenProblem(header: string | undefined, expected: string): string | undefined {
  // The server takes the second word of the header, whatever the scheme (panda_request.py).
  const presented = header?.trim().split(/\s+/)[1];
  if (presented === undefined) return 'Corrupted token. list index out of range';
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b) ? undefined : 'Invalid token';
}

async function call(
  method: ApiMethod,
  args: Args,
  sim: SimCore,
  req: IncomingMessage,
): Promise<PyDict> {
  const handler = HANDLERS[`${method.module}/${method.name}`];
  // API_METHODS and HANDLERS list the same methods; a gap is a bug in the simulator.
  if (handler === undefined) throw new Error(`no handler for ${method.module}/${method.name}`);
  return handler(args, sim, req);
}

export async function handleApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  sim: SimCore,
): Promise<void> {
  const m = /^\/api\/(?:v1|latest)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  const method = m === null ? undefined : findApiMethod(m[1] as string, m[2] as string);
  if (method === undefined) {
    forbidden(res, url.pathname.split('/').filter(Boolean).pop() ?? '');
    return;
  }
  const header = req.headers.authorization;
  const certificate = (req.socket as TLSSocket).authorized === true;
  let credentials = !sim.x509 || certificate;
  if (sim.token !== undefined) {
    credentials = header !== undefined || certificate;
    const problem = header === undefined ? undefined : tokenProblem(header, sim.token);
    if (problem !== undefined) {
      sendText(res, 403, `ERROR : Token authentication failed. ${problem}`, CLOSE);
      return;
    }
  }

  let tempFiles: string[] = [];
  try {
    const parsed = await readRequestParams(req, url, {
      maxBodyBytes: MAX_BODY_BYTES,
      maxUploadBytes: MAX_UPLOAD_BYTES,
      uploadDir: sim.cache.uploadDir,
    });
    tempFiles = parsed.tempFiles;
    let reply: PyDict;
    if (method.secure && !credentials) {
      reply = envelope(false, MESSAGE_SSL);
    } else if (!(method.httpMethods as readonly string[]).includes(req.method ?? '')) {
      reply = envelope(false, `expecting ${method.httpMethods[0]}, received ${req.method}`);
    } else {
      const bound = bindArguments(method, parsed.params, parsed.fromQuery);
      reply = bound.ok ? await call(method, bound.args, sim, req) : envelope(false, bound.message);
    }
    sim.log.debug(
      { method: `${method.module}/${method.name}`, success: reply.get('success') },
      'api call',
    );
    sendText(res, 200, encodeEnvelope(reply, wantsJsonReply(req.headers)));
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      sendText(res, 413, `ERROR : ${err.message}`, CLOSE);
    } else if (
      err instanceof BadBodyError ||
      err instanceof PyJsonError ||
      err instanceof MultipartError
    ) {
      // The server answers an exception while reading parameters with HTTP 500 and str(exc).
      sendText(res, 500, err.message);
    } else {
      throw err;
    }
  } finally {
    await discardTempFiles(tempFiles);
  }
}
