/**
 * `pgc demo` as a user runs it (issue 8): the real `node bin/pgc.js demo`, not on a terminal.
 * It must show progress, the failing job's traceback, the killed job with its code and the
 * outputs with their adler32 (recomputed here by running the example training locally, whose
 * outputs depend only on its inputs), then exit 0 leaving no process and no directory behind.
 * `--keep` leaves a system the other commands reach through the printed export lines, until a
 * signal stops it; a signal in the middle of a run stops everything too; a missing nats-server
 * stops it at once with the install command.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXEC, TRAIN_CODE, TRAIN_INPUTS } from '../../cli/demo/workload.js';
import { adler32Hex, digestFile } from '../../shared/checksum.js';
import { PGC_BIN, runPgc } from '../harness/pgc.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';

const DEMO_TIMEOUT_MS = 90_000;

/** Processes that mention `dir` in their command line, working directory or environment. */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const read = (what: string): string => {
      try {
        return what === 'cwd'
          ? readlinkSync(`/proc/${name}/cwd`)
          : readFileSync(`/proc/${name}/${what}`, 'latin1');
      } catch {
        return '';
      }
    };
    const stat = read('stat');
    if (stat === '' || / [ZX] /.test(stat.slice(stat.lastIndexOf(')')))) continue;
    if (['cmdline', 'cwd', 'environ'].some((what) => read(what).includes(dir)))
      found.push(`${name}: ${read('cmdline').replaceAll('\0', ' ').trim()}`);
  }
  return found;
}

/** The adler32 of model.json and metrics.txt, from running the example training here. */
function localTrainingChecksums(): Record<string, string> {
  using work = tempDir('pgc-demo-train-');
  for (const input of TRAIN_INPUTS) copyFileSync(input, join(work.path, basename(input)));
  const inputs = TRAIN_INPUTS.map((p) => basename(p)).join(',');
  execFileSync(
    'python3',
    [
      '-c',
      `from calotrain.train import main; main(${JSON.stringify(inputs)}, epochs=${EXEC.train.kwargs.epochs}, pause_s=0)`,
    ],
    {
      cwd: work.path,
      // No __pycache__ in examples/: the tree stays as it is shipped.
      env: { ...process.env, PYTHONPATH: TRAIN_CODE, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: 'ignore',
    },
  );
  return Object.fromEntries(
    ['model.json', 'metrics.txt'].map((f) => [f, adler32Hex(readFileSync(join(work.path, f)))]),
  );
}

/** A demo started in the background, its output collected as it comes. */
class RunningDemo {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exit: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [PGC_BIN, 'demo', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exit = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  waitForOutput(pattern: RegExp, timeoutMs = DEMO_TIMEOUT_MS): Promise<RegExpExecArray> {
    return waitFor(() => pattern.exec(this.stdout) ?? undefined, {
      what: `${pattern} in the demo's output:\n${this.stdout}\n${this.stderr}`,
      timeoutMs,
      intervalMs: 50,
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

const demos: RunningDemo[] = [];
const dirs: string[] = [];
afterEach(() => {
  // A failed test must not leave a running system behind.
  for (const demo of demos.splice(0)) demo.kill();
  for (const dir of dirs.splice(0)) {
    for (const p of processesUsing(dir)) process.kill(Number(p.split(':')[0]), 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

function demoDir(stdout: string): string {
  const dir = /state and logs in (\/\S+)/.exec(stdout)?.[1];
  if (dir === undefined) throw new Error(`the demo did not say where its state is:\n${stdout}`);
  dirs.push(dir);
  return dir;
}

describe('pgc demo', () => {
  it('runs the example tasks end to end, shows what happened, exits 0 and leaves nothing behind', async () => {
    const expected = localTrainingChecksums();
    const startedAt = Date.now();
    const run = await runPgc(['demo'], { timeoutMs: DEMO_TIMEOUT_MS });
    const elapsedMs = Date.now() - startedAt;
    console.log(`pgc demo took ${elapsedMs} ms`);
    const out = run.stdout;
    const dir = demoDir(out);
    expect(run.code, `${out}\n${run.stderr}`).toBe(0);
    expect(elapsedMs).toBeLessThan(60_000);

    // Progress: a header, then one line per change, ending with all six jobs reported.
    expect(out).toMatch(/^progress +time +in PanDA +queued +starting +running/m);
    const progress = out.match(/^progress +[\d.]+ s .*$/gm) ?? [];
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(new Set(progress.map((l) => l.replace(/^progress +[\d.]+ s/, ''))).size).toBe(
      progress.length,
    );
    expect(progress.at(-1)).toMatch(/ 4 +2 +0 +6$/);

    // One job's logs and the failing job's traceback.
    expect(out).toContain('epoch 8/8');
    expect(out).toContain('Traceback (most recent call last)');
    expect(out).toContain('LookupError: no calibration constants for run 7');
    expect(out).toMatch(/PanDA: failed, pilot error 1305/);
    expect(
      out.match(/of the same task, fit\.fit_line\(points\): finished, returned \{"slope"/g),
    ).toHaveLength(2);

    // The killed job: its code, and its tree gone within seconds of the kill.
    expect(out).toMatch(/control plane: failed, KILLED_BY_PANDA/);
    expect(out).toMatch(/PanDA: cancelled, pilot error 1144/);
    const goneMs = Number(/were gone (\d+) ms after the kill/.exec(out)?.[1]);
    expect(goneMs).toBeLessThan(10_000);

    // Outputs: both training jobs' files, verified, with the checksums computed here.
    for (const [name, adler32] of Object.entries(expected)) {
      const lines = out.match(new RegExp(`_00000[12]\\.${name.replace('.', '\\.')} .*$`, 'gm'));
      expect(lines, name).toHaveLength(2);
      for (const line of lines ?? []) expect(line).toMatch(`adler32 ${adler32} verified`);
      expect(out).toContain(
        `${name}: adler32 of the file ${adler32}, in PanDA's output report ${adler32} (agree)`,
      );
    }

    // Summary, total time, and nothing left.
    expect(out).toContain('== summary');
    expect(out).toMatch(/demo ok in [\d.]+ s: 6 jobs on 2 endpoints/);
    expect(out).toMatch(/total time [\d.]+ s/);
    expect(existsSync(dir)).toBe(false);
    expect(processesUsing(dir)).toEqual([]);
  });

  it('--keep leaves a system the other commands reach through the export lines, until SIGINT', async () => {
    const demo = new RunningDemo(['--keep']);
    demos.push(demo);
    await demo.waitForOutput(/Ctrl-C \(or SIGTERM\) stops everything/);
    const dir = demoDir(demo.stdout);
    const exports = Object.fromEntries(
      [...demo.stdout.matchAll(/^export (PGC_[A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(Object.keys(exports).sort()).toEqual(['PGC_ADDR', 'PGC_NATS_URL', 'PGC_PANDA_URL']);
    const env = exports as Record<string, string>;

    const jobs = await runPgc(['jobs', '--json'], { env });
    expect(jobs.code, jobs.stderr).toBe(0);
    const listed = (JSON.parse(jobs.stdout) as { jobs: { pandaId: number; state: string }[] }).jobs;
    expect(listed.map((j) => j.state).sort()).toEqual([
      'failed',
      'failed',
      'finished',
      'finished',
      'finished',
      'finished',
    ]);
    const endpoints = await runPgc(['endpoints', '--json'], { env });
    expect(endpoints.stdout).toContain('"demo-site-a"');
    expect(endpoints.stdout).toContain('"demo-site-b"');
    // The outputs the demo showed are downloadable again, and match.
    const trainId = Number(/== logs of job (\d+)/.exec(demo.stdout)?.[1]);
    using outDir = tempDir('pgc-demo-outputs-');
    const outputs = await runPgc(['outputs', String(trainId), '-o', outDir.path, '--json'], {
      env,
    });
    expect(outputs.code, outputs.stderr).toBe(0);
    const files = (JSON.parse(outputs.stdout) as { files: { file: string; adler32: string }[] })
      .files;
    expect(files).toHaveLength(2);
    for (const f of files) expect((await digestFile(f.file)).adler32).toBe(f.adler32);
    // And a new job submitted by hand runs on the kept system.
    const submit = await runPgc(
      [
        'submit',
        '--site',
        'DEMO_QUEUE',
        '--code',
        join(TRAIN_CODE, '..', 'functions'),
        '--exec',
        JSON.stringify(EXEC.fitSmall),
        '--json',
      ],
      { env },
    );
    expect(submit.code, submit.stderr).toBe(0);
    const [submitted] = (JSON.parse(submit.stdout) as { pandaIds: number[] }).pandaIds;
    await waitFor(
      async () => {
        const job = await runPgc(['job', String(submitted), '--json'], { env });
        return job.code === 0 && JSON.parse(job.stdout).state === 'finished';
      },
      { what: `job ${submitted} finished on the kept system`, timeoutMs: 30_000, intervalMs: 250 },
    );

    demo.child.kill('SIGINT');
    expect(await demo.exit).toBe(0);
    expect(demo.stdout).toContain(`state and logs kept in ${dir}`);
    expect(processesUsing(dir)).toEqual([]);
    const after = await runPgc(['jobs'], { env });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('cannot reach the control plane');
  });

  it('SIGTERM in the middle of a run stops every process, jobs included, and removes the directory', async () => {
    const demo = new RunningDemo([]);
    demos.push(demo);
    await demo.waitForOutput(/^progress +[\d.]+ s +\d+ +\d+ +\d+ +[1-9]/m);
    const dir = demoDir(demo.stdout);
    demo.child.kill('SIGTERM');
    expect(await demo.exit).toBe(1);
    expect(demo.stderr).toContain('interrupted by SIGTERM');
    expect(processesUsing(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('stops at once with the install command when nats-server is missing', async () => {
    const run = await runPgc(['demo'], {
      env: { PGC_NATS_SERVER: '/nonexistent/nats-server', PATH: '/nonexistent' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('PGC_NATS_SERVER=/nonexistent/nats-server is not an executable');
    expect(run.stderr).toContain('apt-get install -y nats-server');
    expect(run.stdout).toBe('');
  });
});
