/**
 * The flow of test/e2e/flow.test.ts with a fault in the middle of it, one test each: the control
 * plane SIGKILLed and restarted, nats-server restarted, one agent SIGKILLed and restarted. Still
 * exactly one final state per job in PanDA, no attempt running twice at once (process markers),
 * nothing lost (RELIABILITY.md I1, I2, I5; tests 20, 34, 37, 40).
 */
import { describe, expect, it } from 'vitest';
import { E2E_ENDPOINTS, E2E_QUEUES, startE2E } from '../harness/e2e.js';
import { getJob, simApi } from '../harness/sim.js';
import { type TestSystem, watchDoubleRuns } from '../harness/system.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';
import {
  defineWorkload,
  finalViews,
  type WorkloadJob,
  workloadProblems,
} from '../harness/workload.js';

const JOBS = 200;

/** Waits until some jobs of the workload are running in PanDA, so the fault hits work in flight. */
async function someRunning(
  system: TestSystem,
  jobs: readonly WorkloadJob[],
  atLeast: number,
): Promise<void> {
  await waitFor(
    async () => {
      const views = await Promise.all(jobs.slice(0, 60).map((j) => getJob(system.sim, j.pandaId)));
      return views.filter((v) => v.status === 'running').length >= atLeast;
    },
    { what: `${atLeast} jobs running`, timeoutMs: 60_000, intervalMs: 200 },
  );
}

async function runWithFault(fault: (system: TestSystem) => Promise<void>): Promise<void> {
  using dir = tempDir('pgc-e2e-fault-');
  await using system = await startE2E(dir.path);
  const watch = watchDoubleRuns(E2E_ENDPOINTS);
  const jobs = await defineWorkload(system.sim, E2E_QUEUES, JOBS, 0.5);
  await someRunning(system, jobs, 4);
  await fault(system);
  const views = await waitFor(() => finalViews(system.sim, jobs), {
    what: `${JOBS} jobs to end`,
    timeoutMs: 240_000,
    intervalMs: 1000,
  });
  expect(workloadProblems(jobs, views)).toEqual([]);
  expect(watch.stop()).toEqual([]);
}

describe('end to end under faults', () => {
  it('survives the control plane being SIGKILLed and restarted', async () => {
    await runWithFault(async (system) => {
      // A control plane killed while PanDA is handing it jobs loses that reply, and PanDA keeps
      // those jobs in `sent` until its own 30-minute watchdog (Harvester has the same gap; no
      // PanDA call lists the jobs sent to a client). So the kill lands while acquire_jobs hangs
      // unprocessed; everything else is in flight: dispatches, events, reports.
      await simApi(system.sim, 'POST', '/sim/faults', {
        kind: 'hang',
        durationMs: 4000,
        pathPrefix: '/api/v1/pilot/acquire_jobs',
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await system.control.restart('SIGKILL');
    });
  }, 300_000);

  it('survives nats-server being restarted', async () => {
    await runWithFault(async (system) => {
      await system.nats.restart('SIGKILL');
    });
  }, 300_000);

  it('survives an agent being SIGKILLed and restarted', async () => {
    await runWithFault(async (system) => {
      await system.agent('e2e-a').restart('SIGKILL');
    });
  }, 300_000);
});
