import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PandaSim } from '../../../sim/server.js';
import { JSON_HEADERS, postMultipart, send, startSim } from '../../harness/sim.js';

const TOKEN = 'test-token-3f9c';
let sim: PandaSim;
beforeAll(async () => {
  sim = await startSim({ token: TOKEN });
});
afterAll(async () => {
  await sim.close();
});

const acquire = (headers: Record<string, string>) =>
  send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify({ site_name: 'AUTH_Q', prod_source_label: 'user' }),
  });

describe('bearer-token authentication', () => {
  it('answers HTTP 200 "SSL secure connection is required" without any credentials', async () => {
    const reply = await acquire({});
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({
      success: false,
      message: 'SSL secure connection is required',
      data: null,
    });
  });

  it('answers HTTP 403 text/plain to a wrong or malformed token', async () => {
    for (const authorization of ['Bearer wrong-token', 'Bearer', `Bearer ${TOKEN}x`]) {
      const reply = await acquire({ authorization });
      expect(reply.status, authorization).toBe(403);
      expect(reply.headers['content-type']).toBe('text/plain');
      expect(reply.text).toMatch(/^ERROR : Token authentication failed\. /);
    }
  });

  it('accepts the right token', async () => {
    const reply = await acquire({ authorization: `Bearer ${TOKEN}` });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({
      success: false,
      message: 'No jobs in PanDA',
      data: null,
    });
  });

  it('needs no credentials for is_alive and the /cache downloads', async () => {
    const alive = await send(sim, 'GET', '/api/v1/system/is_alive', {
      headers: { accept: 'application/json' },
    });
    expect(JSON.parse(alive.text)).toEqual({ success: true, message: '', data: null });
    const upload = await postMultipart(
      sim,
      '/api/v1/file_server/upload_cache_file',
      [{ name: 'file', filename: 'jobO.auth.tar.gz', data: Buffer.from('sandbox') }],
      { accept: 'application/json', authorization: `Bearer ${TOKEN}` },
    );
    expect(JSON.parse(upload.text)).toMatchObject({ success: true });
    const download = await send(sim, 'GET', '/cache/jobO.auth.tar.gz');
    expect(download.status).toBe(200);
    expect(download.text).toBe('sandbox');
  });

  it('needs credentials to upload to the cache', async () => {
    const upload = await postMultipart(
      sim,
      '/api/v1/file_server/upload_cache_file',
      [{ name: 'file', filename: 'jobO.anon.tar.gz', data: Buffer.from('x') }],
      { accept: 'application/json' },
    );
    expect(JSON.parse(upload.text)).toEqual({
      success: false,
      message: 'SSL secure connection is required',
      data: null,
    });
    expect((await send(sim, 'GET', '/cache/jobO.anon.tar.gz')).status).toBe(404);
  });
});
