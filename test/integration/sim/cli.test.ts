import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list as tarList } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urllibQuote } from '../../../sim/py-quote.js';
import type { PandaSim } from '../../../sim/server.js';
import { PGC_BIN, runPgc } from '../../harness/pgc.js';
import { type DispatchedJob, getJob, send, startSim, v1 } from '../../harness/sim.js';
import { type TempDir, tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';

const TOKEN = 'cli-token-81d2';
let sim: PandaSim;
let work: TempDir;
let codeDir: string;
let inputs: string[];

beforeAll(async () => {
  sim = await startSim({ token: TOKEN });
  work = tempDir('pgc-submit-test-');
  codeDir = join(work.path, 'code');
  mkdirSync(join(codeDir, 'pkg'), { recursive: true });
  writeFileSync(join(codeDir, 'main.py'), 'def run(input_file):\n    return input_file\n');
  writeFileSync(join(codeDir, 'pkg', 'mod.py'), 'X = 1\n');
  symlinkSync('/etc/passwd', join(codeDir, 'link-to-passwd'));
  inputs = ['a.dat', 'b.dat'].map((name) => {
    const path = join(work.path, name);
    writeFileSync(path, `contents of ${name}\n`);
    return path;
  });
});
afterAll(async () => {
  await sim.close();
  work[Symbol.dispose]();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const EXEC =
  '{"func_name": "run", "pre_script": "from main import run", "kwargs": {"input_file": "%IN"}}';

describe('pgc submit', () => {
  it('packs the code, uploads it and the inputs, and defines jobs with prun jobPars', async () => {
    const run = await runPgc(
      [
        'submit',
        '--panda-url',
        sim.url,
        '--site',
        'CLI_Q',
        '--code',
        codeDir,
        '--inputs',
        inputs.join(','),
        '--outputs',
        'out.dat,result.tgz',
        '--njobs',
        '2',
        '--exec',
        EXEC,
      ],
      { env: { PGC_SIM_TOKEN: TOKEN } },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const ids = run.stdout.trim().split('\n').map(Number);
    expect(ids).toHaveLength(2);

    const acquired = await v1<{ jobs: DispatchedJob[] }>(
      sim,
      'pilot/acquire_jobs',
      { site_name: 'CLI_Q', prod_source_label: 'user', n_jobs: 5 },
      auth,
    );
    const jobs = acquired.data.jobs;
    expect(jobs.map((j) => j.PandaID)).toEqual(ids);
    const pars = jobs.map((j) => String(j.jobPars));
    const archive = /-a (jobO\.[0-9a-f-]{36}\.tar\.gz) /.exec(pars[0] ?? '')?.[1];
    expect(archive).toBeDefined();
    for (const [i, job] of jobs.entries()) {
      const outs = String(job.outFiles).split(',');
      expect(outs).toHaveLength(3); // two outputs and the log
      expect(pars[i]).toBe(
        `-j "" --sourceURL ${sim.url} -r . -a ${archive} -o "{'out.dat': '${outs[0]}', 'result.tgz': '${outs[1]}'}" ` +
          `-i "['a.dat', 'b.dat']" -p "${urllibQuote(EXEC)}"`,
      );
      expect(job).toMatchObject({
        inFiles: 'a.dat,b.dat',
        scopeIn: 'user.pgc,user.pgc',
        prodSourceLabel: 'user',
      });
      expect(String(job.transformation)).toBe(`${sim.url}/trf/user/runGen-00-00-02`);
    }
    expect(pars[0]).toContain('%25IN');
    // Outputs are distinct per job.
    expect(new Set(jobs.flatMap((j) => String(j.outFiles).split(','))).size).toBe(6);

    // The sandbox holds the regular files and directories only.
    const tarball = await fetch(`${sim.url}/cache/${archive}`);
    expect(tarball.status).toBe(200);
    const local = join(work.path, 'downloaded.tar.gz');
    writeFileSync(local, Buffer.from(await tarball.arrayBuffer()));
    const entries: string[] = [];
    await tarList({ file: local, onReadEntry: (e) => entries.push(e.path) });
    expect(entries.sort()).toEqual(['main.py', 'pkg/', 'pkg/mod.py']);
  });

  it('prints {taskId, pandaIds} with --json, takes --cmd and PGC_PANDA_URL, ships --in-tarball as is', async () => {
    const tarball = join(work.path, 'mycode.tar.gz');
    writeFileSync(tarball, Buffer.from('not really a tarball'));
    const args = [
      'submit',
      '--site',
      'CLI_CMD',
      '--in-tarball',
      tarball,
      '--cmd',
      'echo %IN > out.txt',
      '--outputs',
      'out.txt',
      '--json',
    ];
    const env = { PGC_PANDA_URL: sim.url, PGC_SIM_TOKEN: TOKEN };
    const run = await runPgc(args, { env });
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { taskId: number; pandaIds: number[] };
    expect(printed.pandaIds).toHaveLength(1);
    const job = await getJob(sim, printed.pandaIds[0] as number);
    expect(job.status).toBe('activated');
    expect(String((job as unknown as { jobPars: string }).jobPars)).toMatch(
      /-a mycode\.tar\.gz .* -p "echo%20%25IN%20%3E%20out\.txt"$/,
    );
    expect((await send(sim, 'GET', '/cache/mycode.tar.gz')).text).toBe('not really a tarball');
    // The same tarball again is found in the cache and reused, like prun's dedup.
    const again = await runPgc(args, { env });
    expect(again.code).toBe(0);
    writeFileSync(tarball, Buffer.from('other bytes'));
    const changed = await runPgc(args, { env });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('already holds a different mycode.tar.gz');
  });

  it('exits 2 on bad usage', async () => {
    const base = ['submit', '--panda-url', sim.url, '--code', codeDir];
    const both = await runPgc([...base, '--site', 'Q', '--exec', EXEC, '--cmd', 'ls']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('exactly one of --exec <json> and --cmd <command>');
    const neither = await runPgc([...base, '--site', 'Q']);
    expect(neither.code).toBe(2);
    const noSite = await runPgc([...base, '--cmd', 'ls']);
    expect(noSite.code).toBe(2);
    expect(noSite.stderr).toContain('--site <queue> is required');
  });

  it('exits 1 with a clear message on a missing directory, bad --exec JSON, a refused token or no server', async () => {
    const env = { PGC_SIM_TOKEN: TOKEN };
    const missing = await runPgc(
      [
        'submit',
        '--panda-url',
        sim.url,
        '--site',
        'Q',
        '--code',
        join(work.path, 'nope'),
        '--cmd',
        'ls',
      ],
      { env },
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`--code directory ${join(work.path, 'nope')} does not exist`);
    const badJson = await runPgc(
      [
        'submit',
        '--panda-url',
        sim.url,
        '--site',
        'Q',
        '--code',
        codeDir,
        '--exec',
        '{"func_name": ',
      ],
      { env },
    );
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toContain('--exec is not valid JSON');
    const badToken = await runPgc([
      'submit',
      '--panda-url',
      sim.url,
      '--site',
      'Q',
      '--code',
      codeDir,
      '--cmd',
      'ls',
      '--token',
      'wrong',
    ]);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('HTTP 403: ERROR : Token authentication failed.');
    const gone = await startSim();
    const goneUrl = gone.url;
    await gone.close();
    const unreachable = await runPgc([
      'submit',
      '--panda-url',
      goneUrl,
      '--site',
      'Q',
      '--code',
      codeDir,
      '--cmd',
      'ls',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`cannot reach the PanDA server at ${goneUrl}`);
  });
});

/** Runs `pgc panda-sim` and resolves with the URL it prints. */
function startPandaSimCli(args: string[]): {
  child: ChildProcess;
  url: Promise<string>;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [PGC_BIN, 'panda-sim', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /panda-sim listening on (http:\/\/\S+)\n/.exec(stdout);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) =>
      reject(new Error(`pgc panda-sim exited with ${code} before listening: ${stderr}`)),
    );
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url, exit };
}

describe('pgc panda-sim', () => {
  it('listens on a free port with --port 0, prints its URL and stops cleanly on SIGTERM', async () => {
    using state = tempDir('pgc-sim-state-');
    const sim2 = startPandaSimCli([
      '--port',
      '0',
      '--log-level',
      'warn',
      '--state-dir',
      state.path,
      '--sent-timeout-s',
      '0.2',
    ]);
    try {
      const url = await waitFor(() => sim2.url, {
        timeoutMs: 20_000,
        what: 'pgc panda-sim to print its URL',
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const alive = await fetch(`${url}/api/v1/system/is_alive`, {
        headers: { accept: 'application/json' },
      });
      expect(await alive.json()).toEqual({ success: true, message: '', data: null });
      const config = (await (await fetch(`${url}/sim/config`)).json()) as {
        timeouts: { sentTimeoutMs: number };
      };
      expect(config.timeouts.sentTimeoutMs).toBe(200);
      // --state-dir keeps the cache.
      const form = new FormData();
      form.append('file', new Blob([Buffer.from('kept')]), 'jobO.kept.tar.gz');
      const up = await fetch(`${url}/api/v1/file_server/upload_cache_file`, {
        method: 'POST',
        body: form,
      });
      expect(await up.text()).toBe("{'success': True, 'message': '', 'data': None}");
      expect(readdirSync(state.path)).toContain('jobO.kept.tar.gz');
      sim2.child.kill('SIGTERM');
      expect(await sim2.exit).toBe(0);
    } finally {
      sim2.child.kill('SIGKILL');
    }
  });
});
