/**
 * Installing good sandboxes: a real multi-module package packed by GNU tar lands read-only in the
 * store; cache hits are fast and offline; concurrent installs share one download and one
 * extraction; `.__ow__` names are fetched again; cancellation and close; the build step (log
 * kept, run once per digest, failures leave nothing in the store).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureCode, PgcError } from '../../../shared/errors.js';
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

/** Every path below `dir` with its kind and mode, e.g. "pkg/a.py f 444". */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path);
      out.push(
        `${relative(dir, path)} ${st.isDirectory() ? 'd' : 'f'} ${(st.mode & 0o7777).toString(8)}`,
      );
      if (st.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out.sort();
}

/** Serves `body` only when the test says so, to hold installs in flight. */
function heldRoute(path: string, body: Buffer) {
  const waiting: ServerResponse[] = [];
  const url = env.server.route(path, (_req, res) => void waiting.push(res));
  return {
    url,
    waiting: () => waiting.length,
    release() {
      for (const res of waiting.splice(0))
        res.writeHead(200, { 'content-length': body.length }).end(body);
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const small = (text: string) =>
  tgz([{ name: 'main.py', data: `print(${JSON.stringify(text)})\n` }]);

describe('installing a sandbox', () => {
  it('a multi-module package packed by GNU tar lands read-only, owned by us, mtimes kept', async () => {
    const src = join(env.base, 'src');
    for (const dir of ['mypkg/sub', 'mypkg/data', 'empty', 'ünïcode dir'])
      mkdirSync(join(src, dir), { recursive: true });
    writeFileSync(join(src, 'mypkg/__init__.py'), 'from .core import run\n');
    writeFileSync(join(src, 'mypkg/core.py'), 'def run():\n    return 42\n');
    writeFileSync(join(src, 'mypkg/sub/__init__.py'), '');
    writeFileSync(join(src, 'mypkg/sub/helper.py'), 'X = 1\n');
    writeFileSync(join(src, 'mypkg/data/table.csv'), 'a,b\n1,2\n');
    writeFileSync(join(src, 'ünïcode dir/file with spaces.txt'), 'spaces\n');
    writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(src, 'run.sh'), 0o775);
    chmodSync(join(src, 'mypkg/core.py'), 0o666);
    utimesSync(join(src, 'mypkg/core.py'), 1_600_000_000, 1_600_000_000);
    const archive = join(env.base, 'sandbox.tar.gz');
    execFileSync('tar', ['czf', archive, '-C', src, '.']);
    const url = env.server.serve('/cache/user.pkg.tar.gz', readFileSync(archive));

    const manager = await env.open();
    const installed = await manager.install({ url });

    expect(installed.dir).toBe(join(env.root, 'store', installed.digest, 'tree'));
    expect(installed.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(listing(installed.dir)).toEqual([
      'empty d 555',
      'mypkg d 555',
      'mypkg/__init__.py f 444',
      'mypkg/core.py f 444',
      'mypkg/data d 555',
      'mypkg/data/table.csv f 444',
      'mypkg/sub d 555',
      'mypkg/sub/__init__.py f 444',
      'mypkg/sub/helper.py f 444',
      'run.sh f 555',
      'ünïcode dir d 555',
      'ünïcode dir/file with spaces.txt f 444',
    ]);
    expect(readFileSync(join(installed.dir, 'mypkg/core.py'), 'utf8')).toBe(
      'def run():\n    return 42\n',
    );
    expect(statSync(join(installed.dir, 'mypkg/core.py')).mtimeMs).toBe(1_600_000_000_000);
    expect(statSync(installed.dir).uid).toBe(process.getuid?.());
    expect(statSync(join(env.root, 'store', installed.digest)).mode & 0o7777).toBe(0o555);
    expect(installed.buildLogPath).toBeUndefined();
    expect(statSync(env.root).mode & 0o777).toBe(0o700);
    expect(env.list('staging')).toEqual([]);
    expect(env.list('locks')).toEqual([]);
    // Python can import it
    const out = execFileSync('python3', ['-B', '-c', 'import mypkg; print(mypkg.run())'], {
      cwd: installed.dir,
    });
    expect(out.toString().trim()).toBe('42');
    installed.release();
    installed.release(); // idempotent
  });

  it('a cache hit takes under 5 ms and never touches the network, also after a restart', async () => {
    const url = env.server.serve('/cache/hit.tgz', small('hit'));
    const first = await (await env.open()).install({ url });
    const manager = await env.open();
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      const again = await manager.install({ url });
      times.push(performance.now() - started);
      expect(again.dir).toBe(first.dir);
      again.release();
    }
    times.sort((a, b) => a - b);
    expect(times[100]).toBeLessThan(5);
    expect(times[190]).toBeLessThan(5);
    expect(env.server.hits('/cache/hit.tgz')).toBe(1);
    // a known digest is a hit too, whatever the URL
    const byDigest = await manager.install({
      url: env.server.url('/cache/elsewhere.tgz'),
      sha256: first.digest,
    });
    expect(byDigest.dir).toBe(first.dir);
    expect(env.server.hits('/cache/elsewhere.tgz')).toBe(0);
    first.release();
    byDigest.release();
  });

  it('concurrent installs of one URL download and extract once', async () => {
    const held = heldRoute('/cache/popular.tgz', small('popular'));
    const manager = await env.open();
    const installs = Array.from({ length: 8 }, () => manager.install({ url: held.url }));
    await waitFor(() => held.waiting() === 1, { what: 'the download' });
    held.release();
    const handles = await Promise.all(installs);
    expect(new Set(handles.map((h) => h.dir)).size).toBe(1);
    expect(env.server.hits('/cache/popular.tgz')).toBe(1);
    expect(env.count('sandbox downloaded and extracted')).toBe(1);
    expect(env.count('sandbox installed')).toBe(1);
    for (const h of handles) h.release();
  });

  it('two URLs with the same content share one store entry', async () => {
    const body = small('same');
    const a = env.server.serve('/cache/a.tgz', body);
    const b = env.server.serve('/cache/b.tgz', body);
    const manager = await env.open();
    const [one, two] = await Promise.all([
      manager.install({ url: a }),
      manager.install({ url: b }),
    ]);
    expect(one.dir).toBe(two.dir);
    expect(env.list('store')).toEqual([one.digest]);
    expect(env.list('staging')).toEqual([]);
    one.release();
    two.release();
  });

  it('.__ow__ names are fetched again every time; immutable names once', async () => {
    let version = 'v1';
    const ow = env.server.route('/cache/user.code.tgz.__ow__', (_req, res) => {
      const body = small(version);
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    const plain = env.server.serve('/cache/user.code.tgz', small('plain'));
    const manager = await env.open();
    const first = await manager.install({ url: ow });
    version = 'v2';
    const second = await manager.install({ url: ow });
    expect(second.digest).not.toBe(first.digest);
    expect(readFileSync(join(second.dir, 'main.py'), 'utf8')).toBe('print("v2")\n');
    const third = await manager.install({ url: ow });
    expect(third.digest).toBe(second.digest);
    expect(env.server.hits('/cache/user.code.tgz.__ow__')).toBe(3);
    for (let i = 0; i < 3; i++) (await manager.install({ url: plain })).release();
    expect(env.server.hits('/cache/user.code.tgz')).toBe(1);
    for (const h of [first, second, third]) h.release();
  });

  it('a caller that gives up does not cancel the install for the others', async () => {
    const held = heldRoute('/cache/shared.tgz', small('shared'));
    const manager = await env.open();
    const quitter = new AbortController();
    const leaving = manager.install({ url: held.url }, quitter.signal);
    const staying = manager.install({ url: held.url });
    await waitFor(() => held.waiting() === 1, { what: 'the download' });
    quitter.abort(new PgcError(FailureCode.KILLED_BY_PANDA, 'job killed by PanDA'));
    await expect(leaving).rejects.toMatchObject({ code: FailureCode.KILLED_BY_PANDA });
    held.release();
    const installed = await staying;
    expect(existsSync(join(installed.dir, 'main.py'))).toBe(true);
    installed.release();
  });

  it('the last caller giving up cancels the download and cleans up', async () => {
    const held = heldRoute('/cache/abandoned.tgz', small('abandoned'));
    const manager = await env.open();
    const controller = new AbortController();
    const pending = manager.install({ url: held.url }, controller.signal);
    await waitFor(() => held.waiting() === 1, { what: 'the download' });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: FailureCode.CANCELLED });
    await waitFor(() => env.list('staging').length === 0, { what: 'staging to be removed' });
    expect(env.list('store')).toEqual([]);
  });

  it('close() cancels installs in progress, waits for their cleanup, and refuses new ones', async () => {
    const held = heldRoute('/cache/closing.tgz', small('closing'));
    const manager = await env.open();
    const kept = await manager.install({ url: env.server.serve('/cache/kept.tgz', small('kept')) });
    const pending = manager.install({ url: held.url }).then(
      () => new Error('installed'),
      (e: unknown) => e,
    );
    await waitFor(() => held.waiting() === 1, { what: 'the download' });
    await manager.close();
    expect(await pending).toMatchObject({
      code: FailureCode.CANCELLED,
      message: 'sandbox install cancelled: the agent is shutting down',
    });
    expect(env.list('staging')).toEqual([]);
    expect(existsSync(kept.dir)).toBe(true);
    await expect(manager.install({ url: held.url })).rejects.toMatchObject({
      code: FailureCode.FAILED_PRECONDITION,
      message: 'sandbox manager is closed; cannot install',
    });
    kept.release();
  });
});

/** Our child processes that are extraction workers (the spare and any at work). */
function extractionWorkers(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return (
          ppid === process.pid &&
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('extract-worker')
        );
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('the extraction worker', () => {
  it('one is started ahead of need, used by the next install, replaced after it, gone after close', async () => {
    expect(extractionWorkers()).toEqual([]);
    const manager = await env.open();
    const [spare] = extractionWorkers();
    expect(spare).toBeDefined();
    const installed = await manager.install({ url: env.server.serve('/cache/w.tgz', small('w')) });
    // the spare did the work and exited; a new one waits for the next install
    const [next] = await waitFor(
      () => {
        const now = extractionWorkers();
        return now.length === 1 && now[0] !== spare && now;
      },
      { what: 'a new spare worker' },
    );
    expect(isAlive(spare as number)).toBe(false);
    await manager.close();
    expect(isAlive(next as number)).toBe(false);
    expect(extractionWorkers()).toEqual([]);
    installed.release();
  });
});

describe('the build step', () => {
  it('runs once per digest in the staged tree, keeps its log, and its output is frozen', async () => {
    const counter = join(env.base, 'builds');
    const command = `echo built >> ${counter}; mkdir -p lib && echo "X = 1" > lib/generated.py; env | sort > build-env.txt; echo "build output"`;
    const manager = await env.open({ build: { command, env: { EXTRA: 'yes' } } });
    const body = tgz([{ name: 'requirements.txt', data: 'six\n' }]);
    const installed = await manager.install({ url: env.server.serve('/cache/build.tgz', body) });
    expect(readFileSync(join(installed.dir, 'lib/generated.py'), 'utf8')).toBe('X = 1\n');
    expect(listing(installed.dir)).toContain('lib/generated.py f 444');
    expect(listing(installed.dir)).toContain('lib d 555');
    expect(installed.buildLogPath).toBe(join(env.root, 'store', installed.digest, 'build.log'));
    const log = readFileSync(installed.buildLogPath as string, 'utf8');
    expect(log).toContain(`$ ${command}`);
    expect(log).toContain('build output');
    expect(statSync(installed.buildLogPath as string).mode & 0o777).toBe(0o444);
    // The build sees a small environment of its own, not the agent's.
    const buildEnv = readFileSync(join(installed.dir, 'build-env.txt'), 'utf8')
      .split('\n')
      .filter(Boolean);
    const names = buildEnv
      .map((l) => l.slice(0, l.indexOf('=')))
      .filter((n) => n !== 'PWD' && n !== 'SHLVL' && n !== '_');
    expect(names.sort()).toEqual(['EXTRA', 'HOME', 'LANG', 'PATH', 'TMPDIR']);
    // Same content from another URL, and a restarted manager: no second build.
    const again = await manager.install({ url: env.server.serve('/cache/build-copy.tgz', body) });
    const restarted = await env.open({ build: { command } });
    const third = restarted.reference(installed.digest);
    expect(third?.buildLogPath).toBe(installed.buildLogPath);
    expect(readFileSync(counter, 'utf8')).toBe('built\n');
    for (const h of [installed, again, third]) h?.release();
  });

  it('a failing build fails the install, keeps its log outside the store, and leaves nothing in it', async () => {
    const manager = await env.open({
      build: { command: 'echo "pip: no such package" >&2; exit 3' },
    });
    const url = env.server.serve('/cache/broken.tgz', small('broken'));
    const err = await manager.install({ url }).then(
      () => undefined,
      (e: unknown) => e as PgcError,
    );
    const logPath = join(env.root, 'logs', `${readdirSync(join(env.root, 'logs'))[0]}`);
    expect(err).toMatchObject({
      code: FailureCode.BUILD_FAILED,
      message: `build step failed with exit code 3 (see ${logPath})`,
    });
    expect(readFileSync(logPath, 'utf8')).toContain('pip: no such package');
    expect(env.list('store')).toEqual([]);
    expect(env.list('staging')).toEqual([]);
    expect(env.list('locks')).toEqual([]);
  });

  it('a build that leaves a symbolic link fails the install', async () => {
    const manager = await env.open({ build: { command: `ln -s ${env.canary} escape` } });
    const url = env.server.serve('/cache/linky.tgz', small('linky'));
    await expect(manager.install({ url })).rejects.toMatchObject({
      code: FailureCode.BUILD_FAILED,
      message: expect.stringContaining('build step left "escape", a symbolic link'),
    });
    expect(env.list('store')).toEqual([]);
    expect(statSync(env.canary).mode & 0o777).toBe(0o644);
  });

  it('a build that succeeds but leaves a process behind does not hang, and the process is killed', async () => {
    const pidFile = join(env.base, 'left.pid');
    const manager = await env.open({
      build: { command: `sleep 60 & echo $! > ${pidFile}; echo done`, timeoutMs: 30_000 },
    });
    const started = performance.now();
    const installed = await manager.install({
      url: env.server.serve('/cache/bg.tgz', small('bg')),
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => !isAlive(pid), {
      what: 'the leftover process to be gone',
      timeoutMs: 5_000,
    });
    installed.release();
  });

  it('a build that runs too long is killed with everything it started', async () => {
    const pidFile = join(env.base, 'bg.pid');
    const manager = await env.open({
      build: { command: `sleep 60 & echo $! > ${pidFile}; sleep 60`, timeoutMs: 500 },
    });
    const url = env.server.serve('/cache/slow-build.tgz', small('slow'));
    await expect(manager.install({ url })).rejects.toMatchObject({
      code: FailureCode.BUILD_FAILED,
      message: expect.stringContaining('build step did not finish within 500 ms'),
    });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => !isAlive(pid), {
      what: 'the background sleeper to be gone',
      timeoutMs: 5_000,
    });
    expect(env.list('store')).toEqual([]);
    expect(env.list('staging')).toEqual([]);
  });
});
