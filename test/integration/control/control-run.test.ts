import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { controlSchema } from '../../../control/config.js';
import { loadConfig } from '../../../shared/config.js';
import { httpRequest } from '../../../shared/http.js';
import { natsNames } from '../../../shared/nats/subjects.js';
import { uniqueId } from '../../harness/nats.js';
import { PGC_BIN, runPgc } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';
import { defineTestJobs, TestAgent, useControlEnv } from './harness.js';

const { env } = useControlEnv();
const EXAMPLE = fileURLToPath(new URL('../../../examples/control.yaml', import.meta.url));

describe('pgc control run', () => {
  it('refuses to start without a queue (exit 2)', async () => {
    const run = await runPgc(['control', 'run', '--listen', '127.0.0.1:0'], {
      env: { PGC_NATS_URL: env.nats.url, PGC_PANDA_URL: env.sim.url },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no PanDA queue to serve');
  });

  it('refuses plaintext gRPC on a non-loopback address unless --insecure', async () => {
    const run = await runPgc(['control', 'run', '--queue', 'Q', '--listen', '0.0.0.0:0'], {
      env: { PGC_NATS_URL: env.nats.url, PGC_PANDA_URL: env.sim.url },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('is not a loopback address and no TLS material is configured');
  });

  it('accepts the example configuration', () => {
    const config = loadConfig({ schema: controlSchema, file: EXAMPLE, env: {} });
    expect(config.queues.map((q) => q.name)).toEqual(['BNL_Funcx_Test', 'OTHER_QUEUE']);
    expect(config.queues[0]?.endpoints).toEqual(['bnl-gc-01', 'bnl-gc-02']);
    expect(config.queues[1]?.prodSourceLabel).toBe('user');
    expect(config.agentLeaseMs).toBe(600_000);
  });

  it('runs as a process with flags and PGC_* variables, serves agents and metrics, and stops on SIGTERM', async () => {
    using dir = tempDir();
    const queue = uniqueId('Q');
    const prefix = uniqueId('p');
    const child = spawn(
      process.execPath,
      [
        PGC_BIN,
        'control',
        'run',
        '--queue',
        queue,
        '--listen',
        '127.0.0.1:0',
        '--state-dir',
        dir.path,
        '--metrics-listen',
        '127.0.0.1:0',
      ],
      {
        env: {
          ...process.env,
          PGC_NATS_URL: env.nats.url,
          PGC_PANDA_URL: env.sim.url,
          PGC_NATS_SUBJECT_PREFIX: prefix,
          PGC_POLL_INTERVAL_MS: '100',
          PGC_IDLE_POLL_INTERVAL_MS: '200',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    env.defer(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const address = await waitFor(() => /listening on (\S+)/.exec(stdout)?.[1], {
      what: `the listening line (stderr: ${stderr.slice(-500)})`,
      timeoutMs: 20_000,
    });
    const metricsUrl = await waitFor(() => /metrics at (\S+)/.exec(stdout)?.[1], {
      what: 'metrics',
    });

    const agent = await TestAgent.connect({
      address,
      endpointId: uniqueId('ep'),
      queues: [queue],
      nc: env.nc,
      names: natsNames(prefix),
    });
    env.defer(() => agent.dispose());
    await defineTestJobs(env.sim, queue, 1);
    await waitFor(() => agent.dispatches.length === 1, { what: 'a dispatch from the process' });
    // The ack is applied asynchronously after the dispatch arrived: wait for it to show.
    const metrics = await waitFor(
      async () => {
        const text = (await httpRequest({ url: metricsUrl, timeoutMs: 5000 })).body.toString(
          'utf8',
        );
        return /pgc_control_jobs\{state="accepted"\} 1/.test(text) ? text : undefined;
      },
      { what: 'the accepted job in the metrics' },
    );
    expect(metrics).toContain('pgc_control_endpoints_connected 1');
    expect(metrics).toContain('pgc_control_endpoints{state="online"} 1');
    expect(metrics).toMatch(/pgc_control_dispatch_latency_seconds_count 1\n/);
    expect(metrics).toMatch(
      /pgc_panda_calls_total\{method="pilot\/acquire_jobs",outcome="ok"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /pgc_panda_call_duration_seconds_count\{method="pilot\/acquire_jobs"\} [1-9]/,
    );

    // Per-endpoint series come from the counters the agent sends with its pings.
    agent.send({
      body: {
        $case: 'ping',
        ping: {
          atMs: Date.now(),
          stats: {
            jobsStarted: 1,
            jobsSucceeded: 0,
            jobsFailed: 0,
            jobsRunning: 1,
            logBytesShipped: 4096,
            outputBytesStored: 0,
            rssBytes: 70_000_000,
          },
        },
      },
    });
    const key = agent.dispatches[0]?.spec?.key;
    if (key === undefined) throw new Error('no dispatched key');
    await agent.publish(key, { $case: 'result', result: agent.result(key) });
    const after = await waitFor(
      async () => {
        const text = (await httpRequest({ url: metricsUrl, timeoutMs: 5000 })).body.toString(
          'utf8',
        );
        return /pgc_control_job_duration_seconds_count\{outcome="finished"\} 1/.test(text) &&
          text.includes(`pgc_endpoint_log_bytes_shipped_total{endpoint="${agent.endpointId}"} 4096`)
          ? text
          : undefined;
      },
      { what: 'the finished job and the agent counters in the metrics' },
    );
    expect(after).toContain(`pgc_endpoint_jobs_running{endpoint="${agent.endpointId}"} 1`);
    expect(after).toContain(`pgc_endpoint_slots{endpoint="${agent.endpointId}",kind="total"}`);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('control plane stopped');
  });
});
