/**
 * Kills end to end (issue 6): a kill in PanDA reaches the whole payload tree through the status
 * poll, the command stream and the agent, and PanDA gets the kill's code; a kill sent while the
 * agent is away lands when it returns; a kill racing the job's natural end leaves one consistent
 * final state.
 */
import { describe, expect, it } from 'vitest';
import { MARKER_VARIABLE } from '../../agent/agent-core.js';
import { processesByMarker, readStat } from '../../agent/proc.js';
import { attemptId } from '../../shared/ids.js';
import { E2E_CONTROL, E2E_QUEUES, startE2E } from '../harness/e2e.js';
import { PAYLOAD_FIXTURE } from '../harness/payload.js';
import { getJob, type JobView, v1 } from '../harness/sim.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';
import { defineCommandJobs } from '../harness/workload.js';

const QUEUE = E2E_QUEUES[0] as string;
const FINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);
/** A payload with two grandchildren that runs until it is killed. */
const TREE = `python3 ${PAYLOAD_FIXTURE} --run-ms -1 --spawn-grandchild 2`;

/** The live processes of one attempt (any endpoint), found by the marker in their environment. */
function jobProcesses(pandaId: number): { endpoint: string; pids: number[] } | undefined {
  const attempt = attemptId({ pandaId, attemptNr: 1 });
  for (const [marker, procs] of processesByMarker(MARKER_VARIABLE)) {
    const [endpoint, markedAttempt] = marker.split('/');
    if (markedAttempt === attempt && endpoint !== undefined)
      return { endpoint, pids: procs.map((p) => p.pid) };
  }
  return undefined;
}

async function finalView(
  sim: Parameters<typeof getJob>[0],
  pandaId: number,
  timeoutMs: number,
): Promise<JobView> {
  return waitFor(
    async () => {
      const view = await getJob(sim, pandaId);
      return FINAL.has(view.status) ? view : undefined;
    },
    { what: `job ${pandaId} final in PanDA`, timeoutMs, intervalMs: 100 },
  );
}

function finalMoves(view: JobView): string[] {
  return view.events.filter((e) => FINAL.has(e.type)).map((e) => e.type);
}

describe('kills end to end', () => {
  it('a kill in PanDA ends the whole running tree and PanDA gets 1144 within the poll interval + 10 s', async () => {
    using dir = tempDir('pgc-e2e-kill-');
    await using system = await startE2E(dir.path);
    const [pandaId] = await defineCommandJobs(system.sim, QUEUE, [TREE]);
    if (pandaId === undefined) throw new Error('no job defined');
    // The supervisor, the payload and its two grandchildren.
    const running = await waitFor(
      () => {
        const found = jobProcesses(pandaId);
        return found !== undefined && found.pids.length >= 4 ? found : undefined;
      },
      { what: 'the payload tree running', timeoutMs: 30_000 },
    );
    await waitFor(async () => (await getJob(system.sim, pandaId)).status === 'running', {
      what: 'PanDA sees running',
    });

    const killedAt = Date.now();
    expect((await v1<boolean[]>(system.sim, 'job/kill', { job_ids: [pandaId] })).data).toEqual([
      true,
    ]);
    const budgetMs = E2E_CONTROL.statusPollIntervalMs + 10_000;
    await waitFor(() => jobProcesses(pandaId) === undefined, {
      what: `every process of job ${pandaId} gone (were ${running.pids.join(', ')})`,
      timeoutMs: budgetMs,
      intervalMs: 50,
    });
    const goneMs = Date.now() - killedAt;
    const view = await finalView(system.sim, pandaId, budgetMs - goneMs);
    const reportedMs = Date.now() - killedAt;
    console.log(`PanDA kill: tree gone after ${goneMs} ms, final state after ${reportedMs} ms`);
    expect(view.pilotErrorCode).toBe(1144);
    expect(view.jobSubStatus).toBe('cancelled');
    expect(finalMoves(view)).toHaveLength(1);
    // Not one of them lives on (a zombie waiting for init to reap it is dead).
    for (const pid of running.pids) expect(['Z', 'X', undefined]).toContain(readStat(pid)?.state);
  });

  it('a kill sent while the agent is away takes effect when it reconnects', async () => {
    using dir = tempDir('pgc-e2e-kill-away-');
    await using system = await startE2E(dir.path);
    const [pandaId] = await defineCommandJobs(system.sim, QUEUE, [TREE]);
    if (pandaId === undefined) throw new Error('no job defined');
    const running = await waitFor(
      () => {
        const found = jobProcesses(pandaId);
        return found !== undefined && found.pids.length >= 4 ? found : undefined;
      },
      { what: 'the payload tree running', timeoutMs: 30_000 },
    );
    await waitFor(async () => (await getJob(system.sim, pandaId)).status === 'running', {
      what: 'PanDA sees running',
    });
    const agent = system.agent(running.endpoint);
    await agent.stop('SIGKILL');

    await v1(system.sim, 'job/kill', { job_ids: [pandaId] });
    // Long enough for the status poll to see the kill and the command to be published.
    await new Promise((resolve) => setTimeout(resolve, E2E_CONTROL.statusPollIntervalMs * 2));
    expect(jobProcesses(pandaId)?.pids.length ?? 0).toBeGreaterThanOrEqual(4);
    expect((await getJob(system.sim, pandaId)).pilotErrorCode).toBeNull();

    agent.start();
    await waitFor(() => jobProcesses(pandaId) === undefined, {
      what: 'the tree gone after the agent came back',
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    const view = await finalView(system.sim, pandaId, 30_000);
    expect(view.pilotErrorCode).toBe(1144);
    expect(finalMoves(view)).toHaveLength(1);
  });

  it('kills racing the jobs’ natural end leave exactly one consistent final state each', async () => {
    using dir = tempDir('pgc-e2e-kill-race-');
    await using system = await startE2E(dir.path);
    // Jobs ending around the moment the kill arrives: some before, some during, some after.
    const commands = Array.from({ length: 12 }, (_, i) => `sleep ${(1 + i * 0.25).toFixed(2)}`);
    const ids = await defineCommandJobs(system.sim, QUEUE, commands);
    await waitFor(
      async () => {
        const views = await Promise.all(ids.map((id) => getJob(system.sim, id)));
        return views.every((v) => v.status === 'running' || FINAL.has(v.status));
      },
      { what: 'every job running', timeoutMs: 30_000, intervalMs: 100 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await v1(system.sim, 'job/kill', { job_ids: ids });
    const views = await Promise.all(ids.map((id) => finalView(system.sim, id, 30_000)));
    const outcomes = views.map((v) => `${v.status}/${v.pilotErrorCode ?? 0}`);
    for (const view of views) {
      expect(finalMoves(view), `job ${view.pandaId}`).toHaveLength(1);
      const finalUpdates = view.history.filter(
        (c) =>
          c.method.includes('update_job') &&
          ['finished', 'failed'].includes(String(c.params.job_status)),
      );
      const reported = new Set(finalUpdates.map((c) => String(c.params.job_status)));
      expect(reported.size, `job ${view.pandaId}: contradictory final updates`).toBeLessThan(2);
      // It ended on its own (finished), or it was killed (1144), or it had ended and PanDA,
      // told to kill it before its Adder archived it, cancelled it itself (no pilot code).
      const where = `job ${view.pandaId}: ${outcomes}`;
      if (view.status === 'finished') expect(view.pilotErrorCode ?? 0, where).toBe(0);
      else if (view.pilotErrorCode === null) {
        expect(view.status, where).toBe('cancelled');
        expect([...reported], where).toEqual(['finished']);
      } else expect(view.pilotErrorCode, where).toBe(1144);
    }
    for (const id of ids) expect(jobProcesses(id)).toBeUndefined();
  });
});
