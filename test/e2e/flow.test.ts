/**
 * The whole mission in one flow: panda-sim → control plane → two agents → JetStream → PanDA,
 * 200 jobs over two queues (function jobs returning values, command jobs, one in ten built to
 * fail). Every job reaches exactly one final state in PanDA with the right codes and a valid
 * output report; failures never hide the other jobs' results; no attempt ever runs twice at once.
 */
import { describe, expect, it } from 'vitest';
import { E2E_ENDPOINTS, E2E_QUEUES, startE2E } from '../harness/e2e.js';
import { watchDoubleRuns } from '../harness/system.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';
import { defineWorkload, finalViews, workloadProblems } from '../harness/workload.js';

describe('end to end', () => {
  it('runs 200 jobs over two queues and two agents; each ends once, right, in PanDA', async () => {
    using dir = tempDir('pgc-e2e-');
    await using system = await startE2E(dir.path);
    const watch = watchDoubleRuns(E2E_ENDPOINTS);
    const jobs = await defineWorkload(system.sim, E2E_QUEUES, 200, 0.1);
    const views = await waitFor(() => finalViews(system.sim, jobs), {
      what: '200 jobs to end',
      timeoutMs: 180_000,
      intervalMs: 1000,
    });
    expect(workloadProblems(jobs, views)).toEqual([]);
    expect(watch.stop()).toEqual([]);
    expect(jobs.filter((j) => j.kind.startsWith('failing'))).toHaveLength(20);
  }, 240_000);
});
