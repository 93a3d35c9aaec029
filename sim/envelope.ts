/**
 * The v1 reply envelope `{success, message, data}` (srv api/v1/common.py::generate_response) and
 * its wire encoding: JSON only when the request's Content-Type or Accept header is *exactly*
 * `application/json`, otherwise Python's str() of the dict; `Content-Type: text/plain` either way
 * (srv server/panda.py; reference §0.3).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { pyJsonDumps, pyRepr } from './py-format.js';
import type { PyDict, PyValue } from './py-value.js';

export function envelope(success: boolean, message = '', data: PyValue = null): PyDict {
  return new Map<string, PyValue>([
    ['success', success],
    ['message', message],
    ['data', data],
  ]);
}

/** String equality, not a media-type match: `application/json; charset=utf-8` does not count. */
export function isExactlyJson(value: string | string[] | undefined): boolean {
  return value === 'application/json';
}

export function wantsJsonReply(headers: IncomingHttpHeaders): boolean {
  return isExactlyJson(headers['content-type']) || isExactlyJson(headers.accept);
}

export function encodeEnvelope(reply: PyDict, json: boolean): string {
  return json ? pyJsonDumps(reply) : pyRepr(reply);
}
