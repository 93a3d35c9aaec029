import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PandaSim } from '../../../sim/server.js';
import { postMultipart, send, simApi, startSim } from '../../harness/sim.js';
import { tempDir } from '../../harness/temp.js';

let sim: PandaSim;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim.close();
});

const MB = 1024 * 1024;

async function upload(
  filename: string,
  data: Buffer,
  extra: { name: string; value: string }[] = [],
) {
  const reply = await postMultipart(
    sim,
    '/api/v1/file_server/upload_cache_file',
    [...extra, { name: 'file', filename, data }],
    {
      accept: 'application/json',
    },
  );
  expect(reply.status).toBe(200);
  return JSON.parse(reply.text) as { success: boolean; message: string; data: null };
}

function pythonAdler32(path: string): string {
  const run = spawnSync(
    'python3',
    ['-c', 'import sys, zlib; print("%08x" % zlib.adler32(open(sys.argv[1], "rb").read()))', path],
    {
      encoding: 'utf8',
    },
  );
  if (run.status !== 0) throw new Error(`python3 failed (install python3): ${run.stderr}`);
  return run.stdout.trim();
}

describe('PanDA cache (upload_cache_file and /cache/)', () => {
  it('stores an upload and serves it back byte for byte', async () => {
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    expect(await upload('jobO.c1.tar.gz', data)).toEqual({
      success: true,
      message: '',
      data: null,
    });
    const raw = await fetch(`${sim.url}/cache/jobO.c1.tar.gz`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-length')).toBe(String(data.length));
    expect(Buffer.from(await raw.arrayBuffer()).equals(data)).toBe(true);
  });

  it('refuses to overwrite, except names ending .__ow__', async () => {
    await upload('jobO.c2.tar.gz', Buffer.from('one'));
    expect(await upload('jobO.c2.tar.gz', Buffer.from('two'))).toEqual({
      success: false,
      message: 'ERROR: cannot overwrite file',
      data: null,
    });
    expect((await send(sim, 'GET', '/cache/jobO.c2.tar.gz')).text).toBe('one');
    await upload('notes.__ow__', Buffer.from('v1'));
    expect(await upload('notes.__ow__', Buffer.from('v2'))).toMatchObject({ success: true });
    expect((await send(sim, 'GET', '/cache/notes.__ow__')).text).toBe('v2');
  });

  it('limits noBuild sandboxes to 10 MB but sources.* to 768 MB', async () => {
    const big = Buffer.alloc(11 * MB, 1);
    const refused = await upload('jobO.big.tar.gz', big);
    expect(refused.success).toBe(false);
    expect(refused.message).toMatch(
      /^ERROR: upload failure\. Exceeded size limit 11 MB > 10 MB\. Please submit the job without --noBuild/,
    );
    expect((await send(sim, 'GET', '/cache/jobO.big.tar.gz')).status).toBe(404);
    expect(await upload('sources.big.tar.gz', big)).toMatchObject({ success: true });
  });

  it('checks the upload like any v1 call: a text field or a missing part is refused', async () => {
    const text = await postMultipart(
      sim,
      '/api/v1/file_server/upload_cache_file',
      [{ name: 'file', value: 'not a file' }],
      {
        accept: 'application/json',
      },
    );
    expect(JSON.parse(text.text).message).toBe(
      "Type error: 'file' must be of type FileStorage, got str.",
    );
    const extra = await postMultipart(
      sim,
      '/api/v1/file_server/upload_cache_file',
      [
        { name: 'file', filename: 'jobO.x.tgz', data: Buffer.from('x') },
        { name: 'owner', value: 'me' },
      ],
      { accept: 'application/json' },
    );
    expect(JSON.parse(extra.text).message).toBe(
      "Argument error: upload_cache_file() got an unexpected keyword argument 'owner'",
    );
    const broken = await send(sim, 'POST', '/api/v1/file_server/upload_cache_file', {
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nunterminated',
    });
    expect(broken.status).toBe(500);
  });

  it('answers 404 for missing files and refuses names that leave the cache', async () => {
    expect((await send(sim, 'GET', '/cache/nothing.tar.gz')).status).toBe(404);
    for (const path of [
      '/cache/..%2Fetc%2Fpasswd',
      '/cache/.uploads',
      '/cache/a..b',
      '/cache/%2e%2e',
    ]) {
      const reply = await send(sim, 'GET', path);
      expect(reply.status, path).toBe(404);
    }
    expect(await upload('../escape.tar.gz', Buffer.from('x'))).toMatchObject({ success: true });
    // The server keeps only the last path component of the file name.
    expect((await send(sim, 'GET', '/cache/escape.tar.gz')).text).toBe('x');
  });
});

describe('/sim/files replicas', () => {
  it('registers a file with the adler32 Python computes and serves it back', async () => {
    using dir = tempDir();
    const path = join(dir.path, 'data.bin');
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31 + 7) % 256));
    writeFileSync(path, data);
    const reply = await postMultipart(sim, '/sim/files', [
      { name: 'scope', value: 'user.files' },
      { name: 'dataset', value: 'user.files.ds' },
      { name: 'file', filename: 'data.bin', data },
    ]);
    expect(reply.status).toBe(201);
    const replica = JSON.parse(reply.text) as Record<string, unknown>;
    expect(replica).toEqual({
      scope: 'user.files',
      lfn: 'data.bin',
      guid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      fsize: data.length,
      adler32: pythonAdler32(path),
      dataset: 'user.files.ds',
    });
    const back = await fetch(`${sim.url}/sim/files/user.files/data.bin`);
    expect(back.status).toBe(200);
    expect(Buffer.from(await back.arrayBuffer()).equals(data)).toBe(true);
    const { replicas } = await simApi<{ replicas: unknown[] }>(sim, 'GET', '/sim/replicas');
    expect(replicas).toContainEqual(replica);
  });

  it('accepts the same bytes again but not other bytes under the same name', async () => {
    const parts = (data: string) => [
      { name: 'scope', value: 'user.files' },
      { name: 'lfn', value: 'same.dat' },
      { name: 'file', filename: 'whatever', data: Buffer.from(data) },
    ];
    expect((await postMultipart(sim, '/sim/files', parts('abc'))).status).toBe(201);
    expect((await postMultipart(sim, '/sim/files', parts('abc'))).status).toBe(200);
    const conflict = await postMultipart(sim, '/sim/files', parts('abd'));
    expect(conflict.status).toBe(409);
    expect(JSON.parse(conflict.text).error).toMatch(/already registered/);
  });

  it('refuses bad scopes and names, and unknown replicas', async () => {
    const bad = await postMultipart(sim, '/sim/files', [
      { name: 'scope', value: '../x' },
      { name: 'file', filename: 'a.dat', data: Buffer.from('a') },
    ]);
    expect(bad.status).toBe(400);
    const noScope = await postMultipart(sim, '/sim/files', [
      { name: 'file', filename: 'a.dat', data: Buffer.from('a') },
    ]);
    expect(noScope.status).toBe(400);
    expect((await send(sim, 'GET', '/sim/files/user.files/none.dat')).status).toBe(404);
  });
});
