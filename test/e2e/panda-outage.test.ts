/**
 * PanDA failing (HTTP 500s, then hanging) for 30 s, with its `sent` timeout at 90 s: the control
 * plane backs off with jitter, acquires nothing during the outage, recovers within 10 s of its
 * end, and no job gets code 102 (RELIABILITY.md test 45).
 */
import { describe, expect, it } from 'vitest';
import { E2E_QUEUES, startE2E } from '../harness/e2e.js';
import { simApi } from '../harness/sim.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';
import { defineWorkload, finalViews, workloadProblems } from '../harness/workload.js';

interface Call {
  atMs: number;
  method: string;
  path: string;
  faulted: boolean;
}

describe('PanDA outage', () => {
  it('backs off, acquires nothing while PanDA fails, and recovers quickly after', async () => {
    using dir = tempDir('pgc-e2e-outage-');
    await using system = await startE2E(dir.path, {
      simTimeouts: { adderDelayMs: 100, watchdogIntervalMs: 500, sentTimeoutMs: 90_000 },
    });
    const before = await defineWorkload(system.sim, E2E_QUEUES, 20, 0.1);
    await waitFor(() => finalViews(system.sim, before), {
      what: 'the first jobs to end',
      timeoutMs: 60_000,
      intervalMs: 500,
    });

    // 500s for 15 s, then a hang for 15 s: the later fault wins while both are active, so the
    // two are added together and leave no gap between them.
    const outageStart = Date.now();
    await simApi(system.sim, 'POST', '/sim/faults', { kind: 'hang', durationMs: 30_000 });
    await simApi(system.sim, 'POST', '/sim/faults', { kind: 'http500', durationMs: 15_000 });
    const faultedFrom = Date.now();
    // Jobs waiting in PanDA during the outage must not be acquired while it lasts.
    const during = await defineWorkload(system.sim, E2E_QUEUES, 20, 0.1, 1000);
    await waitFor(() => Date.now() - outageStart >= 30_000, {
      what: 'the outage to end',
      timeoutMs: 40_000,
      intervalMs: 200,
    });
    const outageEnd = Date.now();

    const calls = (await simApi<{ calls: Call[] }>(system.sim, 'GET', '/sim/calls')).calls;
    const acquires = calls.filter((c) => c.path.endsWith('/pilot/acquire_jobs'));
    // Calls inside the fault window (a little margin at its end, where the clocks of the POST and
    // the simulator differ by the request's travel).
    const inOutage = acquires.filter(
      (c) => c.atMs >= faultedFrom && c.atMs < outageStart + 30_000 - 100,
    );
    // Backed off: a poller hammering every 500 ms would have made ~120 calls in 30 s.
    expect(inOutage.length).toBeGreaterThan(0);
    expect(inOutage.length).toBeLessThan(40);
    expect(inOutage.every((c) => c.faulted)).toBe(true);

    const recovered = await waitFor(
      async () => {
        const all = (await simApi<{ calls: Call[] }>(system.sim, 'GET', '/sim/calls')).calls;
        return all.find(
          (c) => c.path.endsWith('/pilot/acquire_jobs') && !c.faulted && c.atMs >= outageEnd,
        );
      },
      { what: 'an acquire after the outage', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(recovered.atMs - outageEnd).toBeLessThan(10_000);

    const views = await waitFor(() => finalViews(system.sim, during), {
      what: 'the outage jobs to end',
      timeoutMs: 120_000,
      intervalMs: 1000,
    });
    expect(workloadProblems(during, views)).toEqual([]);
    expect(views.filter((v) => v.jobDispatcherErrorCode === 102)).toEqual([]);
  }, 240_000);
});
