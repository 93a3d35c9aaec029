/**
 * Payload start overhead: a trivial payload (/bin/true) run under the agent's supervisor versus a
 * bare spawn of the same program, sequentially, in the same run. Prints medians of several rounds
 * and the overhead per job (target ≤ 5 ms). Also the whole agent-core turnaround of a trivial job
 * (journal syncs, job directory, result), for information.
 *   node_modules/.bin/tsx bench/payload-start.ts [jobs-per-round]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCore } from '../agent/agent-core.js';
import { startSupervised, waitForSupervisor } from '../agent/runner/supervisor.js';
import { downloadToFile, SandboxManager } from '../agent/sandbox/sandbox-manager.js';
import { JobSpec } from '../shared/gen/pgc/v1/job.js';
import { silentLogger } from '../shared/logger.js';

const jobs = Number(process.argv[2] ?? 200);
const rounds = 5;
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function bare(): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/true', [], { stdio: 'ignore', detached: true });
      child.once('exit', () => resolve());
      child.once('error', reject);
    });
  }
  return (performance.now() - t0) / jobs;
}

async function supervised(dir: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    const statusFile = join(dir, `status-${i}.json`);
    const started = await startSupervised({
      perl: '/usr/bin/perl',
      statusFile,
      argv: ['/bin/true'],
      cwd: dir,
      env: { PATH: '/usr/bin:/bin' },
      stdoutFile: join(dir, 'out'),
      stderrFile: join(dir, 'err'),
    });
    await waitForSupervisor(started, statusFile, { ended: started.ended });
  }
  return (performance.now() - t0) / jobs;
}

async function coreTurnaround(dir: string): Promise<number> {
  const log = silentLogger();
  const sandboxes = await SandboxManager.open({ root: join(dir, 'sandbox'), log });
  const core = await AgentCore.open({
    endpointId: 'bench',
    stateDir: join(dir, 'state'),
    log,
    agentEnv: process.env,
    python: 'python3',
    sandboxes,
    download: (url, dest) => downloadToFile(url, dest, { timeoutMs: 10_000 }),
    settings: {
      maxLogBytes: 1 << 20,
      killGraceMs: 1000,
      maxKillGraceMs: 1000,
      maxWalltimeS: 0,
      maxMemoryMb: 0,
      maxOutputBytes: 1 << 30,
      localInputDirs: [],
      heartbeatIntervalMs: 60_000,
      passEnv: ['PATH'],
    },
    monitorIntervalMs: 1000,
  });
  const n = Math.min(jobs, 100);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const spec = JobSpec.fromPartial({
      key: { pandaId: 1 + i, attemptNr: 1 },
      queue: 'B',
      payload: { $case: 'command', command: { command: 'true' } },
    });
    await (await core.run(spec)).done;
  }
  const perJob = (performance.now() - t0) / n;
  await core.close();
  await sandboxes.close();
  return perJob;
}

const dir = mkdtempSync(join(tmpdir(), 'pgc-bench-start-'));
try {
  const bares: number[] = [];
  const sups: number[] = [];
  for (let r = 0; r < rounds; r++) {
    bares.push(await bare());
    sups.push(await supervised(dir));
  }
  const turnaround = await coreTurnaround(dir);
  const b = median(bares);
  const s = median(sups);
  console.log(`payload start (${jobs} sequential jobs x ${rounds} rounds, medians)`);
  console.log(`  bare spawn of /bin/true        ${b.toFixed(2)} ms/job`);
  console.log(`  under the supervisor           ${s.toFixed(2)} ms/job`);
  console.log(`  overhead                       ${(s - b).toFixed(2)} ms/job (target <= 5 ms)`);
  console.log(
    `  agent-core job turnaround      ${turnaround.toFixed(2)} ms/job (journal syncs, job dir, result; informational)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
