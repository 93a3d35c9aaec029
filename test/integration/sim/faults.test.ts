import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PandaSim } from '../../../sim/server.js';
import { defineJobs, getJob, JSON_HEADERS, send, simApi, startSim, v1 } from '../../harness/sim.js';
import { waitFor } from '../../harness/wait.js';

let sim: PandaSim;
beforeEach(async () => {
  sim = await startSim();
});
afterEach(async () => {
  await sim.close();
});

type Call = { atMs: number; method: string; path: string; faulted: boolean };

const acquire = () =>
  send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
    headers: JSON_HEADERS,
    body: JSON.stringify({ site_name: 'F_Q', prod_source_label: 'user' }),
  });

describe('injected faults', () => {
  it('answers HTTP 500 during an http500 window, acquires nothing, and records the calls', async () => {
    const { pandaIds } = await defineJobs(sim, [{ site: 'F_Q', jobPars: 'x' }]);
    await simApi(sim, 'POST', '/sim/faults', { kind: 'http500', durationMs: 60_000 });
    const during = await acquire();
    expect(during.status).toBe(500);
    expect(during.headers['content-type']).toBe('text/plain');
    // The /sim/ API is never faulted.
    expect((await getJob(sim, pandaIds[0] as number)).status).toBe('activated');
    const { calls } = await simApi<{ calls: Call[] }>(sim, 'GET', '/sim/calls');
    expect(calls.filter((c) => c.path === '/api/v1/pilot/acquire_jobs')).toEqual([
      {
        atMs: expect.any(Number),
        method: 'POST',
        path: '/api/v1/pilot/acquire_jobs',
        faulted: true,
      },
    ]);
    await simApi(sim, 'DELETE', '/sim/faults');
    const after = await acquire();
    expect(JSON.parse(after.text)).toMatchObject({ success: true });
    expect((await getJob(sim, pandaIds[0] as number)).status).toBe('sent');
  });

  it('limits a fault to its path prefix and its duration', async () => {
    await simApi(sim, 'POST', '/sim/faults', {
      kind: 'http500',
      durationMs: 300,
      pathPrefix: '/api/v1/pilot/',
    });
    expect((await acquire()).status).toBe(500);
    expect((await send(sim, 'GET', '/api/v1/system/is_alive')).status).toBe(200);
    await waitFor(async () => (await acquire()).status === 200, {
      what: 'the fault window to end',
    });
    await expect(
      simApi(sim, 'POST', '/sim/faults', { kind: 'flood', durationMs: 10 }),
    ).rejects.toThrow(/HTTP 400/);
  });

  it('holds requests unanswered during a hang window, then drops the connection', async () => {
    await simApi(sim, 'POST', '/sim/faults', { kind: 'hang', durationMs: 400 });
    const started = Date.now();
    const hung = await send(sim, 'GET', '/api/v1/system/is_alive', { timeoutMs: 5000 }).then(
      () => 'answered',
      (err: Error) => err.name,
    );
    expect(hung).toBe('UnavailableError'); // the socket closed without a reply
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect((await send(sim, 'GET', '/api/v1/system/is_alive')).status).toBe(200);
  });

  it('releases held requests at once when the faults are cleared', async () => {
    await simApi(sim, 'POST', '/sim/faults', { kind: 'hang', durationMs: 60_000 });
    const pending = v1(sim, 'pilot/acquire_jobs', { site_name: 'F_Q' }).then(
      () => 'answered',
      (err: Error) => err.name,
    );
    await waitFor(
      async () => {
        const { calls } = await simApi<{ calls: Call[] }>(sim, 'GET', '/sim/calls');
        return calls.some((c) => c.faulted);
      },
      { what: 'the request to arrive' },
    );
    await simApi(sim, 'DELETE', '/sim/faults');
    expect(await pending).toBe('UnavailableError');
  });
});
