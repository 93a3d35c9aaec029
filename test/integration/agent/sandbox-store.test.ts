/**
 * The store across time and processes: LRU eviction under the quota that never removes a
 * referenced entry (also after a restart), cross-process locks (stale holder taken over, pid
 * reuse detected, a live holder waited for), two Node processes installing the same sandbox, and
 * staging left behind by a dead process.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStartTime } from '../../../agent/sandbox/proc-stat.js';
import { FailureCode } from '../../../shared/errors.js';
import { startInstallChild } from '../../fixtures/sandbox/child-process.js';
import { type SandboxEnv, sandboxEnv } from '../../fixtures/sandbox/sandbox-env.js';
import { tgz } from '../../fixtures/sandbox/tar-builder.js';
import { waitFor } from '../../harness/wait.js';

let env: SandboxEnv;

beforeEach(async () => {
  env = await sandboxEnv();
});

afterEach(async () => {
  await env[Symbol.asyncDispose]();
});

/** An archive of about `kib` KiB (random, so it does not compress away on disk). */
function archiveOf(name: string, kib: number): Buffer {
  return tgz([{ name: `${name}.bin`, data: randomBytes(kib * 1024) }]);
}

function sha256Of(body: Buffer): string {
  return execFileSync('sha256sum', { input: body }).toString().slice(0, 64);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid that was just used by a process that has exited (and been reaped). */
function deadPid(): number {
  return spawnSync('true').pid as number;
}

/** Sets the recorded last use of a store entry (the entry directory's mtime). */
function setLastUse(digest: string, secondsAgo: number): void {
  const when = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(join(env.root, 'store', digest), when, when);
}

describe('eviction', () => {
  it('removes least recently used unreferenced entries until under quota, never a referenced one', async () => {
    // Each entry is ~100 KiB of data plus metadata; the quota holds two.
    const manager = await env.open({ quotaBytes: 260 * 1024 });
    const urls = Object.fromEntries(
      ['a', 'b', 'c', 'd'].map((n) => [n, env.server.serve(`/cache/${n}.tgz`, archiveOf(n, 100))]),
    ) as Record<'a' | 'b' | 'c' | 'd', string>;
    const a = await manager.install({ url: urls.a }); // held by a running job
    (await manager.install({ url: urls.b })).release();
    (await manager.install({ url: urls.c })).release();
    await manager.evict(); // waits for the eviction the last install started
    expect(env.list('store')).toHaveLength(2);
    expect(existsSync(a.dir)).toBe(true); // oldest, but referenced
    expect(env.count('sandbox evicted')).toBe(1);
    const c = await manager.install({ url: urls.c });
    expect(env.server.hits('/cache/c.tgz')).toBe(1); // c survived: b (older, unreferenced) went
    c.release();
    a.release();
    // The releases record the last use; make the order explicit (both may fall in one ms).
    setLastUse(c.digest, 60);
    setLastUse(a.digest, 0);
    (await manager.install({ url: urls.d })).release();
    await manager.evict();
    expect(existsSync(a.dir)).toBe(true);
    expect(existsSync(c.dir)).toBe(false);
    expect(env.list('staging')).toEqual([]);
    // the URL index forgets evicted digests
    const indexed = env
      .list('index')
      .map(
        (f) =>
          (JSON.parse(readFileSync(join(env.root, 'index', f), 'utf8')) as { digest: string })
            .digest,
      );
    expect(indexed.sort()).toEqual(env.list('store'));
    // an evicted URL is simply fetched again
    const b = await manager.install({ url: urls.b });
    expect(env.server.hits('/cache/b.tgz')).toBe(2);
    b.release();
  });

  it('keeps entries a restarted agent re-references, and reference() of a missing digest is undefined', async () => {
    const url = env.server.serve('/cache/running.tgz', archiveOf('running', 100));
    const first = await env.open();
    const installed = await first.install({ url });
    await first.close(); // the agent "crashes"; the job keeps running in installed.dir
    const restarted = await env.open({ quotaBytes: 1 });
    const again = restarted.reference(installed.digest);
    expect(again?.dir).toBe(installed.dir);
    await restarted.evict();
    expect(existsSync(installed.dir)).toBe(true);
    expect(restarted.reference('0'.repeat(64))).toBeUndefined();
    expect(restarted.reference('../../etc')).toBeUndefined();
    again?.release();
    await restarted.evict();
    expect(existsSync(installed.dir)).toBe(false);
    expect(restarted.reference(installed.digest)).toBeUndefined();
  });
});

describe('locks across processes', () => {
  const body = archiveOf('locked', 10);
  const digest = sha256Of(body);
  const lockFile = () => join(env.root, 'locks', `${digest}.lock`);

  it('takes over a lock left by a dead process', async () => {
    const manager = await env.open();
    writeFileSync(lockFile(), `${deadPid()} 12345 deadbeef\n`);
    const installed = await manager.install({
      url: env.server.serve('/cache/locked.tgz', body),
      sha256: digest,
    });
    expect(installed.digest).toBe(digest);
    expect(existsSync(lockFile())).toBe(false);
    installed.release();
  });

  it('takes over a lock whose pid now belongs to another process (pid reuse)', async () => {
    const manager = await env.open();
    // Our own pid, with a start time that is not ours: the holder is gone, the pid reused.
    writeFileSync(lockFile(), `${process.pid} 1 deadbeef\n`);
    const installed = await manager.install({
      url: env.server.serve('/cache/reused.tgz', body),
      sha256: digest,
    });
    expect(installed.digest).toBe(digest);
    installed.release();
  });

  it('waits for a live holder and proceeds when it dies', async () => {
    const manager = await env.open();
    const holder = spawn('sleep', ['60']);
    const pid = holder.pid as number;
    const start = parseStartTime(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    writeFileSync(lockFile(), `${pid} ${start} cafe\n`);
    let settled = false;
    const pending = manager
      .install({ url: env.server.serve('/cache/waiting.tgz', body), sha256: digest })
      .finally(() => {
        settled = true;
      });
    await waitFor(() => env.count('sandbox is being installed by another process; waiting') === 1, {
      what: 'the install to wait for the lock',
    });
    expect(settled).toBe(false);
    expect(env.server.hits('/cache/waiting.tgz')).toBe(0);
    holder.kill('SIGKILL');
    const installed = await pending;
    expect(installed.digest).toBe(digest);
    expect(env.server.hits('/cache/waiting.tgz')).toBe(1);
    installed.release();
  });
});

describe('two processes on one store', () => {
  it('with a known digest, one downloads while the other waits, then reuses the entry', async () => {
    const body = archiveOf('both', 50);
    const digest = sha256Of(body);
    const held: ServerResponse[] = [];
    const url = env.server.route('/cache/both.tgz', (_req, res) => void held.push(res));
    const manager = await env.open();
    const mine = manager.install({ url, sha256: digest });
    await waitFor(() => held.length === 1, { what: 'our download to start' });
    const other = startInstallChild({ installs: [{ root: env.root, url, sha256: digest }] });
    await waitFor(
      () =>
        other
          .logs()
          .some((l) => l.msg === 'sandbox is being installed by another process; waiting'),
      {
        what: 'the other process to wait for our lock',
        timeoutMs: 20_000,
      },
    );
    for (const res of held) res.writeHead(200, { 'content-length': body.length }).end(body);
    const installed = await mine;
    const [theirs] = await other.results;
    expect(theirs).toMatchObject({ ok: true, digest, dir: installed.dir });
    expect(env.server.hits('/cache/both.tgz')).toBe(1);
    expect(other.logs().filter((l) => l.msg === 'sandbox installed')).toEqual([]);
    expect(env.list('store')).toEqual([digest]);
    installed.release();
  });

  it('with an unknown digest, both download at once, one publishes, the store stays consistent', async () => {
    const body = archiveOf('race', 200);
    const waiting: ServerResponse[] = [];
    // Answer nobody until both processes are downloading.
    const url = env.server.route('/cache/race.tgz', (_req, res) => {
      waiting.push(res);
      if (waiting.length === 2)
        for (const r of waiting) r.writeHead(200, { 'content-length': body.length }).end(body);
    });
    const manager = await env.open();
    const other = startInstallChild({ installs: [{ root: env.root, url }] });
    const mine = manager.install({ url });
    const [installed, [theirs]] = await Promise.all([mine, other.results]);
    expect(theirs).toMatchObject({ ok: true, digest: installed.digest, dir: installed.dir });
    const published =
      env.count('sandbox installed') +
      other.logs().filter((l) => l.msg === 'sandbox installed').length;
    expect(published).toBe(1);
    expect(env.list('store')).toEqual([installed.digest]);
    expect(env.list('staging')).toEqual([]);
    expect(env.list('locks')).toEqual([]);
    expect(readFileSync(join(installed.dir, 'race.bin'))).toHaveLength(200 * 1024);
    installed.release();
  });
});

describe('recovery at start-up', () => {
  it('removes staging directories of dead processes, read-only ones included, and keeps live ones', async () => {
    await (await env.open()).close();
    const dead = join(env.root, 'staging', `${deadPid()}-777-abcdef`);
    mkdirSync(join(dead, 'entry/tree/pkg'), { recursive: true });
    writeFileSync(join(dead, 'entry/tree/pkg/x.py'), 'x');
    chmodSync(join(dead, 'entry/tree/pkg/x.py'), 0o444);
    for (const d of ['entry/tree/pkg', 'entry/tree', 'entry']) chmodSync(join(dead, d), 0o555);
    const holder = spawn('sleep', ['60']);
    const pid = holder.pid as number;
    const live = join(
      env.root,
      'staging',
      `${pid}-${parseStartTime(readFileSync(`/proc/${pid}/stat`, 'utf8'))}-ghijkl`,
    );
    mkdirSync(live);
    const deadTemps = [
      join(env.root, 'locks', `${'e'.repeat(64)}.lock.${deadPid()}.0a1b.tmp`),
      join(env.root, 'index', `${'f'.repeat(64)}.json.${deadPid()}.0a1b.tmp`),
    ];
    for (const temp of deadTemps) writeFileSync(temp, 'x');
    try {
      await env.open();
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(deadTemps.filter((t) => existsSync(t))).toEqual([]);
    } finally {
      holder.kill('SIGKILL');
    }
    expect(isAlive(process.pid)).toBe(true);
  });

  it('refuses a root owned by someone else', async () => {
    mkdirSync(env.root, { mode: 0o700 });
    const uid = process.getuid?.() ?? 0;
    if (uid === 0) {
      execFileSync('chown', ['65534', env.root]);
      await expect(env.open()).rejects.toMatchObject({
        code: FailureCode.CONFIG,
        message: expect.stringContaining('is owned by uid 65534, not by this agent (uid 0)'),
      });
    } else {
      await expect(env.open({ root: '/' })).rejects.toMatchObject({ code: FailureCode.CONFIG });
    }
  });
});
