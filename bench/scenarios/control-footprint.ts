/**
 * Issue 9 item 7b: the control plane's memory with 100,000 job records and 1,000 agent
 * sessions. The records are written through the control plane's own store (ControlStore.create)
 * into its LevelDB before it starts, each the outcome of the real pure transitions (acquired →
 * dispatched → accepted → running → finished → reported); 100,000 real intakes do not fit the
 * time box (the scale scenario measures that path). Then `pgc control run` starts on that state,
 * 1,000 simulated agents connect through the real gateway, a round of real jobs goes from the
 * simulator through the control plane to the agents and back, and VmRSS / VmHWM of the control
 * plane are read from /proc. How much of it is tsx (the checkout runs the TypeScript sources
 * through it) is measured by loading the control plane's modules with tsx and, compiled, without.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ControlStore } from '../../control/control-store.js';
import {
  acquiredRecord,
  type RecordEvent,
  type Transition,
  transition,
} from '../../control/job-transition.js';
import type { JobSpec } from '../../shared/gen/pgc/v1/job.js';
import { silentLogger } from '../../shared/logger.js';
import { buildJobPars } from '../../sim/job-template.js';
import { defineJobs, simApi } from '../../test/harness/sim.js';
import { TestSystem } from '../../test/harness/system.js';
import { memoryOf, SimulatedAgents } from '../lib/agents-process.js';
import type { BenchContext, Figure, Scenario, ScenarioResult } from '../lib/report.js';
import { median } from '../lib/stats.js';

const QUEUE = 'BENCH_FOOT';
const FINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);
const ROOT = join(import.meta.dirname, '..', '..');

/** `count` records that went the whole way, written through ControlStore in batches. */
async function writeRecords(stateDir: string, count: number, endpoints: number): Promise<void> {
  const store = await ControlStore.open(stateDir, {
    schedulerId: 'pgc-control',
    log: silentLogger(),
  });
  try {
    const t0 = Date.now() - 86_400_000;
    for (let first = 0; first < count; first += 1000) {
      const batch: Transition[] = [];
      for (let i = first; i < Math.min(count, first + 1000); i++) {
        const pandaId = 9_000_000_000 + i;
        const key = { pandaId, attemptNr: 1 };
        const endpointId = `sim-${i % endpoints}`;
        const at = t0 + i;
        const lfn = `user.bench.foot.${i}.out.dat`;
        const spec: JobSpec = {
          key,
          queue: QUEUE,
          payload: { $case: 'command' as const, command: { command: `echo ${i} > out.dat` } },
          sandbox: undefined,
          inputs: [],
          outputs: [
            {
              localName: 'out.dat',
              lfn,
              guid: `guid-out-${i}`,
              scope: 'user.bench',
              dataset: 'user.bench.foot',
            },
          ],
          log: { lfn: `user.bench.foot.${i}.log.tgz`, guid: `guid-log-${i}`, scope: 'user.bench' },
          limits: undefined,
          env: {},
          taskId: 1,
          jobName: `bench-foot-${i}`,
          runDir: '',
        };
        const file = (name: string, guid: string) => ({
          localName: name,
          lfn: name,
          sizeBytes: 12,
          adler32: '0a1b2c3d',
          sha256: '',
          guid,
          location: undefined,
        });
        const events: RecordEvent[] = [
          { type: 'dispatch', at, endpointId, dispatchId: `d-${i}` },
          { type: 'ack-accepted', at, endpointId, dispatchId: `d-${i}` },
          {
            type: 'agent-event',
            at,
            event: {
              endpointId,
              key,
              seq: 3,
              atMs: at,
              body: { $case: 'running' as const, running: { pid: 1000 + i } },
            },
          },
          {
            type: 'agent-event',
            at,
            event: {
              endpointId,
              key,
              seq: 5,
              atMs: at,
              body: {
                $case: 'result' as const,
                result: {
                  key,
                  exitCode: 0,
                  signal: '',
                  failure: undefined,
                  killReason: 0,
                  usage: { cpuTimeMs: 10, wallTimeMs: 20, maxRssBytes: 1 << 20 },
                  returnValueJson: '',
                  outputs: [file(lfn, `guid-out-${i}`)],
                  log: file(`user.bench.foot.${i}.log.tgz`, `guid-log-${i}`),
                  startedAtMs: at,
                  endedAtMs: at,
                  errorDiag: '',
                },
              },
            },
          },
          { type: 'reported', at, message: 'PanDA took the final update' },
        ];
        let record = acquiredRecord(key, QUEUE, spec, at);
        for (const event of events) {
          const t = transition(record, event);
          if (!t.applied) throw new Error(`record ${i}: ${event.type} not applied: ${t.why}`);
          record = t.record;
        }
        batch.push({ record, effects: [], applied: true });
      }
      await store.create(batch, []);
    }
  } finally {
    await store.close();
  }
}

/** RSS (MiB) of a node process that loads `code` (ESM) and stays idle. */
async function idleRss(args: string[], code: string): Promise<number> {
  const child = spawn(process.execPath, [...args, '--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('loaded') && resolve());
      child.once('exit', (c) => reject(new Error(`exited ${c} before loading`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return memoryOf(child.pid as number).rssMb;
  } finally {
    child.kill('SIGKILL');
  }
}

async function tsxShare(): Promise<{ plain: number; tsx: number; compiled?: number }> {
  const hold = "console.log('loaded'); setInterval(() => {}, 1000);";
  const plain = await idleRss([], hold);
  const tsx = await idleRss(
    [],
    `const { register } = await import('tsx/esm/api'); register(); await import('./control/control-plane.ts'); ${hold}`,
  );
  const dist = join(ROOT, 'dist', 'control', 'control-plane.js');
  const compiled = existsSync(dist)
    ? await idleRss([], `await import('./dist/control/control-plane.js'); ${hold}`)
    : undefined;
  return { plain, tsx, ...(compiled !== undefined ? { compiled } : {}) };
}

async function realRound(system: TestSystem, jobs: number): Promise<number> {
  const defs = Array.from({ length: jobs }, (_, i) => {
    const lfn = `user.bench.footreal.${Date.now()}.${i}.out.dat`;
    return {
      site: QUEUE,
      jobPars: buildJobPars({
        sourceUrl: system.sim.url,
        archive: 'jobO.bench.tar.gz',
        outputs: [['out.dat', lfn]],
        exec: 'true',
      }),
      outputs: [{ lfn }],
    };
  });
  const ids = new Set((await defineJobs(system.sim, defs)).pandaIds);
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { jobs: rows } = await simApi<{ jobs: Array<{ pandaId: number; status: string }> }>(
      system.sim,
      'GET',
      '/sim/jobs?view=status',
    );
    const final = rows.filter((j) => ids.has(j.pandaId) && FINAL.has(j.status));
    if (final.length === ids.size) return final.filter((j) => j.status === 'finished').length;
    if (Date.now() > deadline) throw new Error(`only ${final.length} of ${ids.size} jobs final`);
    if (!system.control.running) throw new Error('the control plane exited');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Sample {
  rssMb: number;
  hwmMb: number;
  sessionsRssMb: number;
  helloS: number;
  finished: number;
}

async function once(
  ctx: BenchContext,
  seed: string,
  run: number,
  agentCount: number,
  realJobs: number,
): Promise<Sample> {
  const dir = join(ctx.dir, `run-${run}`);
  mkdirSync(dir, { recursive: true });
  // TestSystem keeps the control plane's state in <dir>/control-state.
  cpSync(seed, join(dir, 'control-state'), { recursive: true });
  try {
    await using system = await TestSystem.start({
      dir,
      queues: [QUEUE],
      agents: [],
      control: { idlePollIntervalMs: 200 },
      simTimeouts: { adderDelayMs: 0 },
    });
    const pid = system.control.pid as number;
    await using agents = await SimulatedAgents.start({
      server: system.controlAddress,
      nats: system.nats.url,
      count: agentCount,
      queue: QUEUE,
      // The agents retry their Hello while the control plane is still loading its store.
      logFile: join(dir, 'logs', 'simulated-agents.log'),
    });
    const sessionsRssMb = memoryOf(pid).rssMb;
    const finished = await realRound(system, realJobs);
    // Let the reporter and the event consumer settle, then read.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const { rssMb, hwmMb } = memoryOf(pid);
    ctx.log(
      `run ${run + 1}: VmRSS ${rssMb.toFixed(0)} MiB, VmHWM ${hwmMb.toFixed(0)} MiB (${agentCount} sessions welcomed in ${(agents.readyMs / 1000).toFixed(1)} s, ${finished}/${realJobs} real jobs finished)`,
    );
    return { rssMb, hwmMb, sessionsRssMb, helloS: agents.readyMs / 1000, finished };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const records = Math.round(100_000 * ctx.scale);
  const agentCount = ctx.smoke ? 50 : 1000;
  const realJobs = Math.round(1000 * ctx.scale);
  const seed = join(ctx.dir, 'seed-state');
  const t0 = performance.now();
  await writeRecords(seed, records, agentCount);
  const writeS = (performance.now() - t0) / 1000;
  ctx.log(`${records} records written through ControlStore in ${writeS.toFixed(1)} s`);

  const samples: Sample[] = [];
  for (let r = 0; r < ctx.runs; r++) samples.push(await once(ctx, seed, r, agentCount, realJobs));
  const share = await tsxShare();

  const rss = samples.map((s) => s.rssMb);
  const hwm = samples.map((s) => s.hwmMb);
  const figures: Figure[] = [
    {
      name: `control-plane VmRSS, ${records} records + ${agentCount} sessions`,
      unit: 'MiB',
      value: median(rss),
      samples: rss,
      target: { text: '≤ 1 GB', met: median(rss) <= 1024 },
    },
    {
      name: 'control-plane VmHWM (peak RSS)',
      unit: 'MiB',
      value: median(hwm),
      samples: hwm,
      target: { text: '≤ 1 GB', met: median(hwm) <= 1024 },
    },
  ];
  const tsxMb = share.compiled !== undefined ? share.tsx - share.compiled : undefined;
  const notes = [
    `Records: ${records} written through the control plane's own store API (ControlStore.create) before it starts, each the product of the real transitions (queued → dispatched → accepted → running → finished → reported), spread over ${agentCount} endpoint ids (${writeS.toFixed(1)} s). 100,000 real intakes would take several minutes at the rate the scale scenario measures, so only the sessions and a round of ${realJobs} jobs take the real path: \`pgc control run\` (through tsx, as in a checkout) starts on that state, ${agentCount} simulated agents (bench/lib/simulated-agents.ts) say Hello through the real gateway (${median(samples.map((s) => s.helloS)).toFixed(1)} s), and ${realJobs} jobs go from the simulator through the control plane to them and back to final. VmRSS is read 2 s after the last job was final; VmHWM is the process's peak since it started (including loading the store).`,
    `The control plane keeps only active records in memory (not final, or final and not yet reported); reported records stay on disk, where the Admin reads (pgc jobs) scan them. It loads the store at start by iterating the job: prefix and decoding only active records, so the records on disk cost no memory at start either (before that change, reading the prefix whole made the peak ~770 MiB against ~250 MiB steady with these 100,000 records). RSS with the ${agentCount} sessions connected, before the real round: ${median(samples.map((s) => s.sessionsRssMb)).toFixed(0)} MiB.`,
    `tsx: an idle node process is ${share.plain.toFixed(0)} MiB; loading the control plane's modules through tsx ${share.tsx.toFixed(0)} MiB${
      share.compiled !== undefined && tsxMb !== undefined
        ? `, the compiled dist/ modules without tsx ${share.compiled.toFixed(0)} MiB: tsx (its loader, esbuild transforms and source maps) accounts for about ${tsxMb.toFixed(0)} MiB of the figures above`
        : ' (dist/ was not built, so the compiled comparison was skipped; `npm run build` makes it)'
    }.`,
  ];
  return { figures, notes };
}

export const controlFootprint: Scenario = {
  id: 'control-footprint',
  title: '7b. Control-plane footprint: 100,000 job records and 1,000 agent sessions',
  run,
};
