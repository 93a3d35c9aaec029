/**
 * How the server turns a v1 request into keyword arguments (srv server/panda.py::application,
 * reference §0.2): GET → the query string, repeated keys as lists; POST with Content-Type exactly
 * `application/json` → the JSON body (gunzipped first under `Content-Encoding: gzip`); any other
 * POST → werkzeug's form parsing, so a JSON body sent as `application/json; charset=utf-8` yields
 * no parameters at all.
 */
import type { IncomingMessage } from 'node:http';
import { isExactlyJson } from './envelope.js';
import {
  BadBodyError,
  boundedChunks,
  decodeUtf8,
  discardBody,
  gunzipBounded,
  readBody,
} from './http-io.js';
import { multipartBoundary, parseMultipart } from './multipart.js';
import { parsePyJson } from './py-json.js';
import { type PyDict, type PyValue, pyTypeName } from './py-value.js';

export interface ParamLimits {
  /** JSON and form bodies, after gunzip. */
  maxBodyBytes: number;
  /** Whole multipart bodies (cache uploads). */
  maxUploadBytes: number;
  /** Where multipart file parts are written. */
  uploadDir: string;
}

export interface RequestParams {
  params: PyDict;
  /** Temporary files of multipart file parts; the handler keeps or removes them. */
  tempFiles: string[];
  fromQuery: boolean;
}

function queryParams(url: URL): PyDict {
  const params: PyDict = new Map();
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    params.set(key, values.length === 1 ? (values[0] as string) : values);
  }
  return params;
}

function mimeType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export async function readRequestParams(
  req: IncomingMessage,
  url: URL,
  limits: ParamLimits,
): Promise<RequestParams> {
  if (req.method === 'GET' || req.method === 'HEAD') {
    return { params: queryParams(url), tempFiles: [], fromQuery: true };
  }
  const contentType = req.headers['content-type'];
  if (isExactlyJson(contentType)) {
    let body = await readBody(req, limits.maxBodyBytes);
    if (
      String(req.headers['content-encoding'] ?? '')
        .trim()
        .toLowerCase() === 'gzip'
    ) {
      body = gunzipBounded(body, limits.maxBodyBytes);
    }
    const value = parsePyJson(decodeUtf8(body));
    if (!(value instanceof Map)) {
      // `method(req, **params)` with a non-dict raises TypeError → HTTP 500.
      throw new BadBodyError(`argument after ** must be a mapping, not ${pyTypeName(value)}`);
    }
    return { params: value, tempFiles: [], fromQuery: false };
  }
  const type = mimeType(contentType);
  if (type === 'application/x-www-form-urlencoded') {
    const text = (await readBody(req, limits.maxBodyBytes)).toString('utf8');
    const form = new URLSearchParams(text);
    const params: PyDict = new Map();
    for (const [k, v] of form) if (!params.has(k)) params.set(k, v);
    return { params, tempFiles: [], fromQuery: false };
  }
  const boundary = multipartBoundary(contentType);
  if (boundary !== undefined) {
    const form = await parseMultipart(
      boundedChunks(req, limits.maxUploadBytes),
      boundary,
      limits.uploadDir,
      { maxFileBytes: limits.maxUploadBytes },
    );
    return {
      params: new Map<string, PyValue>(form.entries),
      tempFiles: form.tempFiles,
      fromQuery: false,
    };
  }
  // Neither JSON nor a form: werkzeug finds no fields.
  await discardBody(req, limits.maxBodyBytes);
  return { params: new Map(), tempFiles: [], fromQuery: false };
}
