import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PandaSim } from '../../../sim/server.js';
import { defineJobs, JSON_HEADERS, send, startSim, v1, v1Get } from '../../harness/sim.js';

let sim: PandaSim;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim.close();
});

describe('v1 envelope and request parsing', () => {
  it('answers JSON only when Content-Type or Accept is exactly application/json, always as text/plain', async () => {
    const asJson = await send(sim, 'GET', '/api/v1/system/is_alive', {
      headers: { accept: 'application/json' },
    });
    expect(asJson.status).toBe(200);
    expect(asJson.headers['content-type']).toBe('text/plain');
    expect(asJson.text).toBe('{"success": true, "message": "", "data": null}');
    for (const accept of [
      'application/json, text/plain',
      'application/json; charset=utf-8',
      '*/*',
    ]) {
      const python = await send(sim, 'GET', '/api/v1/system/is_alive', { headers: { accept } });
      expect(python.text, accept).toBe("{'success': True, 'message': '', 'data': None}");
    }
  });

  it('parses a POST body as JSON only for the exact Content-Type', async () => {
    const body = JSON.stringify({ site_name: 'WIRE_Q', prod_source_label: 'user' });
    const exact = await send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
      headers: JSON_HEADERS,
      body,
    });
    expect(JSON.parse(exact.text)).toEqual({
      success: false,
      message: 'No jobs in PanDA',
      data: null,
    });
    // With a charset the server parses a form: it finds no parameters at all.
    const charset = await send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
      headers: { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' },
      body,
    });
    expect(charset.status).toBe(200);
    expect(JSON.parse(charset.text)).toEqual({
      success: false,
      message: "Argument error: acquire_jobs() missing 1 required positional argument: 'site_name'",
      data: null,
    });
  });

  it('answers HTTP 500 with the Python decode error for invalid JSON and a non-dict body', async () => {
    const broken = await send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
      headers: JSON_HEADERS,
      body: '{"site_name": ',
    });
    expect(broken.status).toBe(500);
    expect(broken.text).toBe('Expecting value: line 1 column 15 (char 14)');
    const list = await send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
      headers: JSON_HEADERS,
      body: '[1]',
    });
    expect(list.status).toBe(500);
    expect(list.text).toContain('must be a mapping, not list');
  });

  it('gunzips a body sent with Content-Encoding: gzip', async () => {
    await defineJobs(sim, [{ site: 'GZIP_Q', jobPars: '-p x' }]);
    const body = gzipSync(
      JSON.stringify({ site_name: 'GZIP_Q', prod_source_label: 'user', n_jobs: 1 }),
    );
    const reply = await send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
      headers: { ...JSON_HEADERS, 'content-encoding': 'gzip' },
      body,
    });
    expect(JSON.parse(reply.text)).toMatchObject({ success: true, data: { StatusCode: 0 } });
    const notGzip = await send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
      headers: { ...JSON_HEADERS, 'content-encoding': 'gzip' },
      body: '{"site_name": "GZIP_Q"}',
    });
    expect(notGzip.status).toBe(500);
  });

  it('refuses unknown parameters and wrong JSON types, without casting', async () => {
    expect(await v1(sim, 'pilot/acquire_jobs', { site_name: 'Q', resourceType: 'SCORE' })).toEqual({
      success: false,
      message: "Argument error: acquire_jobs() got an unexpected keyword argument 'resourceType'",
      data: null,
    });
    expect((await v1(sim, 'pilot/acquire_jobs', { site_name: 'Q', n_jobs: '2' })).message).toBe(
      "Type error: 'n_jobs' must be of type int, got str.",
    );
    // JSON.stringify would write 1.0 as 1: send the text, as a Python client would.
    const float = await send(sim, 'POST', '/api/v1/pilot/update_job', {
      headers: JSON_HEADERS,
      body: '{"job_id": 1, "job_status": "running", "attempt_nr": 1.0}',
    });
    expect(JSON.parse(float.text).message).toBe(
      "Type error: 'attempt_nr' must be of type int, got float.",
    );
    expect((await v1(sim, 'job/kill', { job_ids: ['1'] })).message).toBe(
      "Type error: All elements in 'job_ids' must be int.",
    );
  });

  it('checks the HTTP method of each handler', async () => {
    const get = await send(sim, 'GET', '/api/v1/pilot/acquire_jobs?site_name=Q', {
      headers: { accept: 'application/json' },
    });
    expect(JSON.parse(get.text)).toEqual({
      success: false,
      message: 'expecting POST, received GET',
      data: null,
    });
    expect((await v1(sim, 'pilot/get_job_status', { job_ids: [1] })).message).toBe(
      'expecting GET, received POST',
    );
  });

  it('casts GET query values and takes repeated keys as lists', async () => {
    const { pandaIds } = await defineJobs(sim, [{ site: 'GET_Q', jobPars: '-p x' }]);
    const id = pandaIds[0] as number;
    const status = await v1Get<{ job_id: number; status: string; attempt_number: number }[]>(
      sim,
      'pilot/get_job_status',
      `job_ids=${id}&job_ids=12345&timeout=30`,
    );
    expect(status.data).toEqual([
      { job_id: id, status: 'activated', attempt_number: 1 },
      { job_id: 12345, status: 'not found', attempt_number: 0 },
    ]);
    const bad = await v1Get(sim, 'job/get_status', 'job_ids=abc');
    expect(bad.message).toBe("Type error: 'job_ids' could not be casted to type List.");
  });

  it('forbids unknown methods and the legacy paths with HTTP 403', async () => {
    for (const path of [
      '/api/v1/pilot/getJob',
      '/api/v1/nope/thing',
      '/server/panda/getJob',
      '/api/v2/pilot/acquire_jobs',
    ]) {
      const reply = await send(sim, 'POST', path, { headers: JSON_HEADERS, body: '{}' });
      expect(reply.status, path).toBe(403);
      expect(reply.headers['content-type']).toBe('text/plain');
    }
    expect((await send(sim, 'GET', '/server/panda/getJob')).text).toBe(
      'ERROR : method getJob is forbidden',
    );
    expect((await send(sim, 'GET', '/api/v1/pilot/getJob')).text).toBe(
      'ERROR : method getJob is forbidden',
    );
  });

  it('serves /api/latest like /api/v1', async () => {
    const reply = await send(sim, 'GET', '/api/latest/system/is_alive', {
      headers: { accept: 'application/json' },
    });
    expect(JSON.parse(reply.text)).toEqual({ success: true, message: '', data: null });
  });

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const reply = await send(sim, 'POST', '/api/v1/pilot/update_job', {
      headers: JSON_HEADERS,
      body: Buffer.alloc(33 * 1024 * 1024, 0x20),
      timeoutMs: 30_000,
    }).catch((err: Error) => ({ status: 0, text: err.message, headers: {} }));
    // The server may close the connection before the client has sent everything.
    expect([413, 0]).toContain(reply.status);
    const alive = await send(sim, 'GET', '/api/v1/system/is_alive');
    expect(alive.status).toBe(200);
  });
});
