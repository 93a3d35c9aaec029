import { it } from 'vitest';
import { E2E_QUEUES, startE2E } from '../harness/e2e.js';
import { getJob } from '../harness/sim.js';
import { waitFor } from '../harness/wait.js';
import { defineWorkload, finalViews } from '../harness/workload.js';

it('debug control restart', async () => {
  const dir = '/tmp/pgc-dbg-' + Date.now();
  (await import('node:fs')).mkdirSync(dir);
  console.log('DIR', dir);
  await using system = await startE2E(dir);
  const jobs = await defineWorkload(system.sim, E2E_QUEUES, 200, 0.5);
  await waitFor(
    async () => {
      const views = await Promise.all(jobs.slice(0, 60).map((j) => getJob(system.sim, j.pandaId)));
      return views.filter((v) => v.status === 'running').length >= 4;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  await system.control.restart('SIGKILL');
  try {
    await waitFor(() => finalViews(system.sim, jobs), { timeoutMs: 60_000, intervalMs: 1000 });
  } catch (e) {
    const views = await Promise.all(jobs.map((j) => getJob(system.sim, j.pandaId)));
    const counts: Record<string, number> = {};
    for (const v of views) counts[v.status] = (counts[v.status] ?? 0) + 1;
    console.log('STATUS COUNTS', JSON.stringify(counts));
    const stuck = views
      .filter((v) => !['finished', 'failed', 'cancelled'].includes(v.status))
      .slice(0, 3);
    console.log(
      'STUCK',
      JSON.stringify(
        stuck.map((v) => ({
          id: v.pandaId,
          s: v.status,
          h: v.history.map((x) => [x.method, x.params.job_status]),
        })),
      ),
    );
    throw e;
  }
}, 200_000);
