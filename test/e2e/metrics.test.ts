/**
 * Metrics end to end: the control plane's /metrics carries per-endpoint series from the counters
 * agents send with their pings, next to its own (jobs by state, latencies, PanDA calls); an agent
 * serves its own /metrics only when asked to.
 */
import { describe, expect, it } from 'vitest';
import { httpRequest } from '../../shared/http.js';
import { E2E_CONTROL } from '../harness/e2e.js';
import { getJob } from '../harness/sim.js';
import { freePort, TestSystem } from '../harness/system.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';
import { defineCommandJobs, uploadCalcPackage } from '../harness/workload.js';

const QUEUE = 'METRICS_Q';

async function scrape(address: string): Promise<string> {
  return (await httpRequest({ url: `http://${address}/metrics`, timeoutMs: 5000 })).body.toString(
    'utf8',
  );
}

describe('metrics end to end', () => {
  it('per-endpoint series from agent pings, latencies, PanDA calls; the agent-local listener', async () => {
    using dir = tempDir('pgc-e2e-metrics-');
    const controlMetrics = `127.0.0.1:${await freePort()}`;
    const agentMetrics = `127.0.0.1:${await freePort()}`;
    await using system = await TestSystem.start({
      dir: dir.path,
      queues: [QUEUE],
      agents: [
        { endpointId: 'm-a', queues: [QUEUE], env: { PGC_AGENT_METRICS_LISTEN: agentMetrics } },
      ],
      control: { ...E2E_CONTROL, metricsListen: controlMetrics, agentPingIntervalMs: 300 },
    });
    await uploadCalcPackage(system.sim, dir.path);
    const ids = await defineCommandJobs(system.sim, QUEUE, [
      'echo hello',
      'echo world',
      'echo failing >&2; exit 3',
    ]);
    await waitFor(
      async () => {
        const views = await Promise.all(ids.map((id) => getJob(system.sim, id)));
        return views.every((v) => ['finished', 'failed'].includes(v.status));
      },
      { what: 'the three jobs ended', timeoutMs: 60_000, intervalMs: 200 },
    );

    const text = await waitFor(
      async () => {
        const t = await scrape(controlMetrics);
        return t.includes('pgc_endpoint_jobs_failed_total{endpoint="m-a"} 1') ? t : undefined;
      },
      { what: "the agent's counters in the control plane's metrics", timeoutMs: 10_000 },
    );
    expect(text).toContain('pgc_endpoint_jobs_started_total{endpoint="m-a"} 3');
    expect(text).toContain('pgc_endpoint_jobs_succeeded_total{endpoint="m-a"} 2');
    expect(text).toMatch(/pgc_endpoint_log_bytes_shipped_total\{endpoint="m-a"\} (\d+)/);
    const shipped = Number(
      /pgc_endpoint_log_bytes_shipped_total\{endpoint="m-a"\} (\d+)/.exec(text)?.[1],
    );
    // "hello\n", "world\n", "failing\n" at least.
    expect(shipped).toBeGreaterThanOrEqual(20);
    expect(text).toMatch(/pgc_endpoint_output_bytes_stored_total\{endpoint="m-a"\} [1-9]/);
    expect(text).toMatch(/pgc_endpoint_agent_rss_bytes\{endpoint="m-a"\} [1-9]/);
    expect(text).toMatch(/pgc_control_dispatch_latency_seconds_count 3\n/);
    expect(text).toMatch(/pgc_control_job_duration_seconds_count\{outcome="finished"\} 2\n/);
    expect(text).toMatch(/pgc_control_job_duration_seconds_count\{outcome="failed"\} 1\n/);
    expect(text).toMatch(
      /pgc_panda_calls_total\{method="pilot\/update_jobs_bulk",outcome="ok"\} [1-9]/,
    );
    expect(text).toContain('pgc_control_endpoints{state="online"} 1');

    const own = await scrape(agentMetrics);
    expect(own).toContain('pgc_agent_jobs_started{endpoint="m-a"} 3');
    expect(own).toContain('pgc_agent_jobs_failed{endpoint="m-a"} 1');
    expect(own).toMatch(/pgc_agent_rss_bytes\{endpoint="m-a"\} [1-9]/);
  });
});
