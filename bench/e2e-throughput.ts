/**
 * End to end through the whole system (PanDA simulator → control plane → 2 agents → simulator),
 * each part its own process as in production, against the physical floor measured in the same run:
 *
 * - Throughput: trivial command jobs (`true`) in rounds; jobs/s from the first acquire to the
 *   last final state in PanDA, versus bare `sh -c true` spawns at the same concurrency
 *   (2 agents × slots). Target ≥ 0.6 of the baseline.
 * - Added latency, one job at a time: (acquire reply → payload start) + (payload end → final
 *   update received by PanDA), the payload stamping its own start and end. Target p50 ≤ 20 ms.
 *
 *   node_modules/.bin/tsx bench/e2e-throughput.ts [jobs-per-round] [slots-per-agent] [latency-jobs]
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getJob, type JobView, simApi } from '../test/harness/sim.js';
import { TestSystem } from '../test/harness/system.js';
import { tempDir } from '../test/harness/temp.js';
import { waitFor } from '../test/harness/wait.js';
import { defineCommandJobs, uploadCalcPackage } from '../test/harness/workload.js';

const jobsPerRound = Number(process.argv[2] ?? 300);
const slotsPerAgent = Number(process.argv[3] ?? 16);
const latencyJobs = Number(process.argv[4] ?? 21);
const rounds = 3;
const QUEUE = 'BENCH_Q';
const ENDPOINTS = ['bench-a', 'bench-b'];
const FINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const percentile = (xs: readonly number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ??
  Number.NaN;

/** The floor: `count` bare `sh -c true` spawns, `concurrency` at a time. Returns jobs/s. */
async function bareSpawns(count: number, concurrency: number): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await new Promise<void>((resolve, reject) => {
        const child = spawn('sh', ['-c', 'true'], { stdio: 'ignore' });
        child.once('exit', () => resolve());
        child.once('error', reject);
      });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / ((performance.now() - t0) / 1000);
}

function defineBenchJobs(
  system: TestSystem,
  command: string,
  count: number,
  firstSerial: number,
  withOutput = false,
): Promise<number[]> {
  return defineCommandJobs(system.sim, QUEUE, Array(count).fill(command), {
    firstSerial,
    withOutput,
  });
}

interface SimJobRow {
  pandaId: number;
  status: string;
}

async function allFinal(system: TestSystem, ids: readonly number[]): Promise<boolean> {
  const { jobs } = await simApi<{ jobs: SimJobRow[] }>(system.sim, 'GET', '/sim/jobs?view=status');
  const wanted = new Set(ids);
  const final = jobs.filter((j) => wanted.has(j.pandaId) && FINAL.has(j.status));
  return final.length === ids.length;
}

function eventAt(view: JobView, type: string): number {
  const event = view.events.find((e) => e.type === type);
  if (event === undefined) throw new Error(`job ${view.pandaId} has no ${type} event`);
  return event.atMs;
}

function finalUpdateAt(view: JobView): number {
  const call = view.history.find(
    (c) => c.method.includes('update_job') && FINAL.has(String(c.params.job_status)),
  );
  if (call === undefined) throw new Error(`job ${view.pandaId} has no final update`);
  return call.atMs;
}

async function throughputRound(system: TestSystem, round: number): Promise<number> {
  const ids = await defineBenchJobs(system, 'true', jobsPerRound, round * jobsPerRound);
  await waitFor(() => allFinal(system, ids), {
    timeoutMs: 600_000,
    intervalMs: 200,
    what: 'every job final',
  });
  const views = await Promise.all(ids.map((id) => getJob(system.sim, id)));
  const failed = views.filter((v) => v.status !== 'finished');
  if (failed.length > 0) throw new Error(`${failed.length} jobs did not finish`);
  const first = Math.min(...views.map((v) => eventAt(v, 'sent')));
  const last = Math.max(...views.map(finalUpdateAt));
  return ids.length / ((last - first) / 1000);
}

/** The payload's own start/end stamps, from out.dat in the job's work directory. */
function payloadStamps(system: TestSystem, pandaId: number): { startMs: number; endMs: number } {
  for (const endpoint of ENDPOINTS) {
    const jobs = join(system.dir, `agent-${endpoint}`, 'jobs');
    for (const attempt of readdirSync(jobs)) {
      if (!attempt.includes(String(pandaId))) continue;
      const [start, end] = readFileSync(join(jobs, attempt, 'work', 'out.dat'), 'utf8')
        .trim()
        .split(/\s+/)
        .map(Number);
      if (start !== undefined && end !== undefined) return { startMs: start, endMs: end };
    }
  }
  throw new Error(`no payload stamps for job ${pandaId}`);
}

interface Breakdown {
  inbound: number;
  payload: number;
  outbound: number;
}

async function latencyRun(system: TestSystem): Promise<Breakdown[]> {
  const samples: Breakdown[] = [];
  for (let i = 0; i < latencyJobs; i++) {
    const [id] = await defineBenchJobs(
      system,
      'a=$(date +%s%3N); b=$(date +%s%3N); echo $a $b > out.dat',
      1,
      10_000_000 + i,
      true,
    );
    if (id === undefined) throw new Error('no job defined');
    await waitFor(async () => FINAL.has((await getJob(system.sim, id)).status), {
      timeoutMs: 60_000,
      intervalMs: 20,
      what: `job ${id} final`,
    });
    const view = await getJob(system.sim, id);
    if (view.status !== 'finished') throw new Error(`job ${id} ended ${view.status}`);
    const { startMs, endMs } = payloadStamps(system, id);
    samples.push({
      inbound: startMs - eventAt(view, 'sent'),
      payload: endMs - startMs,
      outbound: finalUpdateAt(view) - endMs,
    });
  }
  return samples;
}

async function main(): Promise<void> {
  using dir = tempDir('pgc-bench-');
  const concurrency = slotsPerAgent * ENDPOINTS.length;
  console.log(
    `e2e: ${rounds} rounds of ${jobsPerRound} trivial command jobs, 2 agents × ${slotsPerAgent} slots; ${latencyJobs} single jobs for latency`,
  );

  const baseline: number[] = [];
  for (let r = 0; r < rounds; r++) baseline.push(await bareSpawns(jobsPerRound, concurrency));

  await using system = await TestSystem.start({
    dir: dir.path,
    queues: [QUEUE],
    agents: ENDPOINTS.map((endpointId) => ({
      endpointId,
      queues: [QUEUE],
      slots: slotsPerAgent,
    })),
    control: { idlePollIntervalMs: 200 },
  });
  await uploadCalcPackage(system.sim, dir.path);
  // Warm-up: both agents connected and the sandbox in each agent's cache.
  await throughputRound(system, rounds);

  const measured: number[] = [];
  for (let r = 0; r < rounds; r++) measured.push(await throughputRound(system, r));
  const samples = await latencyRun(system);

  const added = samples.map((s) => s.inbound + s.outbound);
  const p50 = (pick: (s: Breakdown) => number): string =>
    median(samples.map(pick)).toFixed(1).padStart(7);
  const system50 = median(measured);
  const base50 = median(baseline);
  console.log(`\n${'scenario'.padEnd(44)}${'median'.padStart(12)}`);
  console.log(`${'bare sh -c true, jobs/s'.padEnd(44)}${base50.toFixed(1).padStart(12)}`);
  console.log(`${'through panda-gc, jobs/s'.padEnd(44)}${system50.toFixed(1).padStart(12)}`);
  console.log(
    `${'ratio (target >= 0.6)'.padEnd(44)}${(system50 / base50).toFixed(3).padStart(12)}`,
  );
  console.log(
    `\nadded latency, ms: p50 ${median(added).toFixed(1)}  p99 ${percentile(added, 99).toFixed(1)}  (target p50 <= 20)`,
  );
  console.log(
    `  breakdown p50, ms: acquire→payload start${p50((s) => s.inbound)}   payload${p50((s) => s.payload)}   payload end→final update at PanDA${p50((s) => s.outbound)}`,
  );
  // A graceful stop, so that NODE_OPTIONS=--cpu-prof gets its profiles written.
  for (const agent of system.agents.values()) await agent.stop('SIGTERM');
  await system.control.stop('SIGTERM');
  console.log(
    `  rounds: baseline ${baseline.map((x) => x.toFixed(0)).join(', ')}; system ${measured.map((x) => x.toFixed(0)).join(', ')}`,
  );
}

await main();
