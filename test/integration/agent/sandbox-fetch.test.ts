/**
 * Fetching (RELIABILITY §7 test 5), through install() and through downloadToFile(), against a
 * loopback server: 404, 500 then success, checksum mismatch, truncated body, a server slower
 * than the deadline, stalls, redirects (allowed, refused, too many), bodies over the cap, hosts
 * off the allow-list, refused connections, HTTPS with an extra CA. Each failure is a distinct
 * error, nothing is retried that should not be, and no staging directory or partial file stays.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DownloadError,
  downloadToFile,
  type SandboxManager,
} from '../../../agent/sandbox/sandbox-manager.js';
import { adler32Hex } from '../../../shared/checksum.js';
import { FailureCode, PgcError } from '../../../shared/errors.js';
import { type SandboxEnv, sandboxEnv } from '../../fixtures/sandbox/sandbox-env.js';
import { tgz } from '../../fixtures/sandbox/tar-builder.js';
import { makeTestPki } from '../../harness/certs.js';

let env: SandboxEnv;
let manager: SandboxManager;
const archive = tgz([
  { name: 'pkg/', type: '5' },
  { name: 'pkg/main.py', data: 'print("hello")\n' },
]);
const sha256 = createHash('sha256').update(archive).digest('hex');
const fastRetry = { initialMs: 10, maxMs: 50, multiplier: 2, jitter: 0 };
/** This machine's first non-loopback IPv4 address, to test the allow-list with a real host. */
const externalIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

beforeAll(async () => {
  env = await sandboxEnv();
  manager = await env.open({ fetchRetries: 2, fetchTimeoutMs: 10_000 });
});

afterAll(async () => {
  await env?.[Symbol.asyncDispose]();
});

async function failure(promise: Promise<unknown>): Promise<PgcError> {
  const err = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PgcError);
  return err as PgcError;
}

function expectClean(): void {
  expect(env.list('staging')).toEqual([]);
  expect(env.list('locks')).toEqual([]);
}

describe('install() fetch failures', () => {
  it('404 fails at once and is not retried', async () => {
    const url = env.server.url('/cache/missing.tgz');
    const err = await failure(manager.install({ url }));
    expect(err).toMatchObject({
      code: FailureCode.SANDBOX_UNAVAILABLE,
      retryable: false,
      reason: 'http-status',
      message: `cannot fetch sandbox ${url}: HTTP 404`,
    });
    expect(env.server.hits('/cache/missing.tgz')).toBe(1);
    expectClean();
  });

  it('500 then success: retried, installed', async () => {
    const url = env.server.route('/cache/flaky.tgz', (_req, res, hit) => {
      if (hit === 1) return void res.writeHead(500).end('oops');
      res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });
    const installed = await manager.install({ url });
    expect(installed.digest).toBe(sha256);
    expect(readFileSync(join(installed.dir, 'pkg/main.py'), 'utf8')).toBe('print("hello")\n');
    expect(env.server.hits('/cache/flaky.tgz')).toBe(2);
    installed.release();
    expectClean();
  });

  it('5xx every time: fails after the retries, retryable', async () => {
    const url = env.server.route('/cache/down.tgz', (_req, res) => void res.writeHead(503).end());
    const err = await failure(manager.install({ url }));
    expect(err).toMatchObject({
      reason: 'http-status',
      retryable: true,
      message: `cannot fetch sandbox ${url}: HTTP 503`,
    });
    expect(env.server.hits('/cache/down.tgz')).toBe(3);
    expectClean();
  });

  it('checksum mismatch: not retried, nothing stored', async () => {
    const url = env.server.serve('/cache/tampered.tgz', archive);
    const wrong = 'ab'.repeat(32);
    const err = await failure(manager.install({ url, sha256: wrong }));
    expect(err).toMatchObject({
      code: FailureCode.SANDBOX_UNAVAILABLE,
      reason: 'checksum',
      retryable: false,
      message: `cannot fetch sandbox ${url}: checksum mismatch: expected sha256 ${wrong}, got ${sha256}`,
    });
    expect(env.server.hits('/cache/tampered.tgz')).toBe(1);
    expect(existsSync(join(env.root, 'store', wrong))).toBe(false);
    expectClean();
  });

  it('a malformed expected digest is refused before any download', async () => {
    const url = env.server.serve('/cache/never.tgz', archive);
    const err = await failure(manager.install({ url, sha256: 'xyz' }));
    expect(err.code).toBe(FailureCode.INVALID_ARGUMENT);
    expect(env.server.hits('/cache/never.tgz')).toBe(0);
  });

  it('truncated body: retried, then reported as truncated', async () => {
    const url = env.server.route('/cache/cut.tgz', (_req, res) => {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, 100), () => res.destroy());
    });
    const err = await failure(manager.install({ url }));
    expect(err).toMatchObject({
      reason: 'truncated',
      retryable: true,
      message: `cannot fetch sandbox ${url}: reply broken off after 100 of ${archive.length} bytes`,
    });
    expect(env.server.hits('/cache/cut.tgz')).toBe(3);
    expectClean();
  });

  it('a server slower than the deadline fails at the deadline', async () => {
    const slow = await env.open({ fetchRetries: 3, fetchTimeoutMs: 1_000 });
    const url = env.server.route('/cache/slow.tgz', (_req, res) => {
      res.writeHead(200, { 'content-length': 1_000_000 });
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const started = performance.now();
    const err = await failure(slow.install({ url }));
    const elapsed = performance.now() - started;
    expect(err).toMatchObject({
      reason: 'timeout',
      message: `cannot fetch sandbox ${url}: no complete reply within 1000 ms`,
    });
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(1_500);
    expect(env.server.hits('/cache/slow.tgz')).toBe(1);
    expectClean();
  });

  it('a redirect to a host off the allow-list is refused without contacting it', async () => {
    const url = env.server.route(
      '/cache/moved.tgz',
      (_req, res) => void res.writeHead(302, { location: 'http://evil.example/cache/x.tgz' }).end(),
    );
    const err = await failure(manager.install({ url }));
    expect(err).toMatchObject({
      reason: 'host',
      retryable: false,
      message: `cannot fetch sandbox ${url}: redirect refused: host evil.example is not in the allow-list`,
    });
    expect(env.server.hits('/cache/moved.tgz')).toBe(1);
  });

  it('redirects to file:// and link-local metadata addresses are refused', async () => {
    const toFile = env.server.route(
      '/cache/to-file.tgz',
      (_req, res) => void res.writeHead(301, { location: 'file:///etc/passwd' }).end(),
    );
    expect(await failure(manager.install({ url: toFile }))).toMatchObject({ reason: 'scheme' });
    const toMeta = env.server.route(
      '/cache/to-meta.tgz',
      (_req, res) =>
        void res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data' }).end(),
    );
    expect(await failure(manager.install({ url: toMeta }))).toMatchObject({
      reason: 'host',
      message: expect.stringContaining('host 169.254.169.254 is not in the allow-list'),
    });
  });

  it('follows up to 3 allowed redirects, not 4', async () => {
    env.server.serve('/cache/final.tgz', archive);
    const hop = (from: string, to: string) =>
      env.server.route(from, (_req, res) => void res.writeHead(302, { location: to }).end());
    hop('/r3', '/cache/final.tgz');
    hop('/r2', '/r3');
    const threeHops = hop('/r1', env.server.url('/r2').replace('127.0.0.1', 'localhost'));
    const installed = await manager.install({ url: threeHops });
    expect(installed.digest).toBe(sha256);
    installed.release();
    const fourHops = hop('/r0', '/r1');
    expect(await failure(manager.install({ url: fourHops }))).toMatchObject({
      reason: 'too-many-redirects',
      message: `cannot fetch sandbox ${fourHops}: more than 3 redirects`,
    });
  });

  it('a body over the cap is refused: by Content-Length at once, or while streaming', async () => {
    const capped = await env.open({ maxDownloadBytes: 1000, fetchRetries: 2 });
    const declared = env.server.serve('/cache/big.tgz', Buffer.alloc(5000));
    expect(await failure(capped.install({ url: declared }))).toMatchObject({
      reason: 'too-large',
      retryable: false,
      message: `cannot fetch sandbox ${declared}: 5000 bytes is more than the 1000-byte limit`,
    });
    const chunked = env.server.route('/cache/chunked.tgz', (_req, res) => {
      res.writeHead(200);
      res.write(archive);
      res.write(Buffer.alloc(5000));
      res.end();
    });
    expect(await failure(capped.install({ url: chunked }))).toMatchObject({
      reason: 'too-large',
      message: `cannot fetch sandbox ${chunked}: body exceeds the 1000-byte limit`,
    });
    expect(env.server.hits('/cache/big.tgz') + env.server.hits('/cache/chunked.tgz')).toBe(2);
    expectClean();
  });

  it('a host off the allow-list is never contacted', async () => {
    const err = await failure(manager.install({ url: 'https://evil.example/cache/x.tgz' }));
    expect(err).toMatchObject({
      reason: 'host',
      message:
        'cannot fetch sandbox https://evil.example/cache/x.tgz: host evil.example is not in the allow-list',
    });
    expect(await failure(manager.install({ url: 'file:///etc/passwd' }))).toMatchObject({
      reason: 'scheme',
    });
  });

  it.skipIf(externalIp === undefined)(
    'a non-loopback host is fetched only once it is allow-listed',
    async () => {
      const ip = externalIp as string;
      const server = createHttpServer(
        (_req, res) => void res.writeHead(200, { 'content-length': archive.length }).end(archive),
      );
      await new Promise<void>((resolve) => server.listen(0, ip, resolve));
      try {
        const url = `http://${ip}:${(server.address() as AddressInfo).port}/cache/lan.tgz`;
        expect(await failure(manager.install({ url }))).toMatchObject({
          reason: 'host',
          message: `cannot fetch sandbox ${url}: host ${ip} is not in the allow-list`,
        });
        const allowing = await env.open({ allowHosts: [ip] });
        const installed = await allowing.install({ url });
        expect(installed.digest).toBe(sha256);
        installed.release();
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  );

  it('a refused connection is retried and reported as a connection error', async () => {
    const closed = await env.open({ fetchRetries: 1 });
    const err = await failure(closed.install({ url: 'http://127.0.0.1:1/cache/x.tgz' }));
    expect(err).toMatchObject({
      reason: 'connection',
      retryable: true,
      code: FailureCode.SANDBOX_UNAVAILABLE,
    });
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('downloadToFile (the runner stage-in)', () => {
  it('writes the file and returns size, sha256 and adler32', async () => {
    const url = env.server.serve('/data/input.root', archive);
    const dest = join(env.base, 'input.root');
    const got = await downloadToFile(url, dest, { sha256, adler32: adler32Hex(archive) });
    expect(got).toEqual({ sizeBytes: archive.length, sha256, adler32: adler32Hex(archive) });
    expect(readFileSync(dest)).toEqual(archive);
  });

  it('removes the partial file on failure and uses the caller’s code and noun', async () => {
    const url = env.server.serve('/data/other.root', archive);
    const dest = join(env.base, 'other.root');
    const err = await failure(
      downloadToFile(url, dest, {
        adler32: '00000001',
        what: 'input',
        failureCode: FailureCode.INPUT_CHECKSUM,
      }),
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect(err).toMatchObject({
      code: FailureCode.INPUT_CHECKSUM,
      reason: 'checksum',
      message: `cannot fetch input ${url}: checksum mismatch: expected adler32 00000001, got ${adler32Hex(archive)}`,
    });
    expect(existsSync(dest)).toBe(false);
  });

  it('retries an attempt that stalls and succeeds on the next', async () => {
    const url = env.server.route('/data/stall.root', (_req, res, hit) => {
      res.writeHead(200, { 'content-length': archive.length });
      if (hit === 1) return void res.write(archive.subarray(0, 10)); // then nothing
      res.end(archive);
    });
    const dest = join(env.base, 'stall.root');
    const got = await downloadToFile(url, dest, { stallTimeoutMs: 200, backoff: fastRetry });
    expect(got.sha256).toBe(sha256);
    expect(env.server.hits('/data/stall.root')).toBe(2);
  });

  it('stops at once when the caller aborts', async () => {
    const url = env.server.route('/data/forever.root', (_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x');
    });
    const dest = join(env.base, 'forever.root');
    const controller = new AbortController();
    const pending = downloadToFile(url, dest, { signal: controller.signal });
    setTimeout(
      () => controller.abort(new PgcError(FailureCode.KILLED_BY_PANDA, 'job killed by PanDA')),
      100,
    );
    const err = await failure(pending);
    expect(err).toMatchObject({
      code: FailureCode.KILLED_BY_PANDA,
      message: 'job killed by PanDA',
    });
    expect(existsSync(dest)).toBe(false);
  });

  it('downloads over HTTPS with an extra CA, and refuses without it', async () => {
    const pki = makeTestPki(env.base);
    const server = createHttpsServer(
      { cert: pki.server.cert, key: pki.server.key },
      (_req, res) => {
        res.writeHead(200, { 'content-length': archive.length }).end(archive);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://localhost:${(server.address() as AddressInfo).port}/cache/tls.tgz`;
      const dest = join(env.base, 'tls.tgz');
      expect((await downloadToFile(url, dest, { tls: { ca: pki.ca } })).sha256).toBe(sha256);
      const err = await failure(downloadToFile(url, dest, { retries: 0 }));
      expect(err).toMatchObject({ reason: 'connection' });
      const tls = await env.open({ tls: { ca: pki.ca } });
      const installed = await tls.install({ url });
      expect(installed.digest).toBe(sha256);
      installed.release();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
