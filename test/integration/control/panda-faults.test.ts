import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { uniqueId } from '../../harness/nats.js';
import { getJob, simApi } from '../../harness/sim.js';
import { waitFor } from '../../harness/wait.js';
import { defineTestJobs, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

interface Recorded {
  path: string;
  atMs: number;
  status: number;
  body: unknown;
}

/** A pass-through HTTP proxy in front of the simulator that records every request body. */
async function recordingProxy(
  target: string,
): Promise<{ url: string; calls: Recorded[]; server: Server }> {
  const calls: Recorded[] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const upstream = request(
        {
          host: to.hostname,
          port: to.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (reply) => {
          let body: unknown;
          try {
            body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
          } catch {
            body = raw.toString('utf8');
          }
          calls.push({
            path: req.url ?? '',
            atMs: Date.now(),
            status: reply.statusCode ?? 0,
            body,
          });
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, server };
}

async function faultFor(
  kind: 'http500' | 'hang',
  durationMs: number,
  pathPrefix: string,
): Promise<number> {
  await simApi(env.sim, 'POST', '/sim/faults', { kind, durationMs, pathPrefix });
  return Date.now() + durationMs;
}

async function faultsOver(): Promise<void> {
  await waitFor(
    async () =>
      (await simApi<{ faults: unknown[] }>(env.sim, 'GET', '/sim/faults')).faults.length === 0,
    { what: 'the fault window to end', timeoutMs: 15_000 },
  );
}

describe('reporting to PanDA', () => {
  it('batches updates while a call is in flight (at most reportBatchJobs) and retries through an outage', async () => {
    const proxy = await recordingProxy(env.sim.url);
    env.defer(() => new Promise((resolve) => proxy.server.close(resolve)));
    const {
      cp,
      queue,
      agent: connect,
    } = await setup({
      reportBatchJobs: 3,
      panda: { url: proxy.url, timeoutMs: 3000 },
    });
    const agent = await connect(uniqueId('ep'), { capacity: { slotsTotal: 10 } });
    const ids = await defineTestJobs(env.sim, queue, 8);
    const keys = ids.map((pandaId) => ({ pandaId, attemptNr: 1 }));
    await waitFor(
      async () =>
        (await Promise.all(ids.map((id) => getJob(env.sim, id)))).every(
          (j) => j.status === 'starting',
        ),
      {
        what: 'all starting in PanDA',
      },
    );

    const faultEnds = await faultFor('http500', 1500, '/api/v1/pilot/update_jobs_bulk');
    for (const key of keys)
      await agent.publish(key, { $case: 'result', result: agent.result(key) });
    await waitFor(
      async () =>
        (await Promise.all(ids.map((id) => getJob(env.sim, id)))).every(
          (j) => j.status === 'finished',
        ),
      {
        what: 'every job finished in PanDA',
      },
    );
    await waitFor(() => keys.every((k) => cp.job(k) === undefined), { what: 'all reported' });

    const bulk = proxy.calls.filter((c) => c.path === '/api/v1/pilot/update_jobs_bulk');
    const sizes = bulk.map((c) => (c.body as { job_list: unknown[] }).job_list.length);
    // Updates that piled up during the outage went together, three at a time.
    expect(Math.max(...sizes)).toBe(3);
    const failed = bulk.filter((c) => c.status === 500);
    expect(failed.length).toBeGreaterThanOrEqual(2); // retried during the outage …
    expect(failed.length).toBeLessThanOrEqual(8); // … with backoff, not in a tight loop
    expect(bulk.filter((c) => c.status === 200).at(-1)?.atMs ?? 0).toBeGreaterThanOrEqual(
      faultEnds - 50,
    );
    for (const id of ids) {
      const finals = (await getJob(env.sim, id)).history.filter(
        (h) => h.params.job_status === 'finished',
      );
      expect(finals).toHaveLength(1);
    }
  });
});

describe('acquiring from PanDA', () => {
  it('acquires nothing during an outage and recovers within 10 s of its end', async () => {
    const { queue, agent: connect } = await setup({ pollErrorBackoffMaxMs: 8000 });
    const agent = await connect(uniqueId('ep'));
    const faultEnds = await faultFor('http500', 3000, '/api/v1/pilot/acquire_jobs');
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    await faultsOver();
    expect((await getJob(env.sim, pandaId as number)).status).toBe('activated');
    const calls = (
      await simApi<{ calls: { path: string; faulted: boolean }[] }>(env.sim, 'GET', '/sim/calls')
    ).calls;
    const tries = calls.filter((c) => c.path === '/api/v1/pilot/acquire_jobs' && c.faulted).length;
    expect(tries).toBeGreaterThan(0);
    expect(tries).toBeLessThanOrEqual(10); // backing off, not hammering

    await waitFor(() => agent.dispatches.length === 1, {
      what: 'the job dispatched',
      timeoutMs: 12_000,
    });
    expect(Date.now() - faultEnds).toBeLessThan(10_000);
  });

  it('never strands a job when acquire_jobs hangs: it is acquired once, after the hang', async () => {
    const {
      cp,
      queue,
      agent: connect,
    } = await setup({ panda: { url: env.sim.url, timeoutMs: 5000 } });
    const agent = await connect(uniqueId('ep'));
    await faultFor('hang', 1000, '/api/v1/pilot/acquire_jobs');
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, {
      what: 'accepted',
      timeoutMs: 15_000,
    });
    expect(agent.dispatches).toHaveLength(1);
    const acquires = (await getJob(env.sim, key.pandaId)).history.filter(
      (h) => h.method === 'pilot/acquire_jobs',
    );
    expect(acquires).toHaveLength(1);
  });
});
