import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PandaSim } from '../../../sim/server.js';
import { acquiredJob, defineJobs, getJob, simApi, startSim, v1, v1Get } from '../../harness/sim.js';
import { waitFor } from '../../harness/wait.js';

let sim: PandaSim;
beforeEach(async () => {
  sim = await startSim({ timeouts: { adderDelayMs: 30, watchdogIntervalMs: 20 } });
});
afterEach(async () => {
  await sim.close();
});

type UpdateData = { StatusCode: number; command: string | null };
type Status = { status: string; command: string | null };

describe('job/kill', () => {
  it('cancels jobs that are not running at once, with taskBufferErrorCode 100', async () => {
    const { pandaIds } = await defineJobs(sim, [{ site: 'K_Q', jobPars: 'x' }]);
    const sent = await acquiredJob(sim, 'K_SENT');
    const reply = await v1<boolean[]>(sim, 'job/kill', {
      job_ids: [pandaIds[0], sent.PandaID, 777],
    });
    expect(reply).toEqual({ success: true, message: '', data: [true, true, false] });
    for (const id of [pandaIds[0] as number, sent.PandaID]) {
      const job = await getJob(sim, id);
      expect(job.status).toBe('cancelled');
      expect(job.taskBufferErrorCode).toBe(100);
      expect(job.commandToPilot).toBe('tobekilled');
    }
    const late = await v1<UpdateData>(sim, 'pilot/update_job', {
      job_id: sent.PandaID,
      job_status: 'running',
      attempt_nr: 1,
    });
    expect(late.data.command).toBe('tobekilled');
    // A final job cannot be killed again.
    expect((await v1<boolean[]>(sim, 'job/kill', { job_ids: [sent.PandaID] })).data).toEqual([
      false,
    ]);
  });

  it('keeps a running job running and says tobekilled in the next update and in get_status', async () => {
    const job = await acquiredJob(sim, 'K_RUN');
    await v1(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'running',
      attempt_nr: 1,
    });
    expect(
      (
        await v1<boolean[]>(sim, 'job/kill', {
          job_ids: [job.PandaID],
          kill_options: ['jobSubStatus=user_kill'],
        })
      ).data,
    ).toEqual([true]);
    expect((await getJob(sim, job.PandaID)).status).toBe('running');
    const status = await v1Get<Status[]>(sim, 'job/get_status', `job_ids=${job.PandaID}&job_ids=1`);
    expect(status.data).toEqual([
      { status: 'running', command: 'tobekilled' },
      { status: 'unknown', command: 'tobekilled' },
    ]);
    // POST JSON works for get_status too.
    expect((await v1<Status[]>(sim, 'job/get_status', { job_ids: [job.PandaID] })).data).toEqual([
      { status: 'running', command: 'tobekilled' },
    ]);
    const heartbeat = await v1<UpdateData>(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'running',
      attempt_nr: 1,
    });
    expect(heartbeat.data).toEqual({ StatusCode: 0, command: 'tobekilled' });
    await v1(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'failed',
      attempt_nr: 1,
      pilot_error_code: 1144,
      pilot_error_diag: 'This job was killed by panda server',
      job_sub_status: 'cancelled',
    });
    const end = await waitFor(
      async () => {
        const j = await getJob(sim, job.PandaID);
        return j.status === 'cancelled' ? j : undefined;
      },
      { what: 'the killed job to end cancelled' },
    );
    expect(end.pilotErrorCode).toBe(1144);
    expect(end.jobSubStatus).toBe('cancelled');
  });

  it('sets an operator command that the next update returns', async () => {
    const job = await acquiredJob(sim, 'K_CMD');
    await v1(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'running',
      attempt_nr: 1,
    });
    expect(
      await v1(sim, 'job/set_command', { job_id: job.PandaID, command: 'debug' }),
    ).toMatchObject({ success: true });
    expect(
      (
        await v1<UpdateData>(sim, 'pilot/update_job', {
          job_id: job.PandaID,
          job_status: 'running',
          attempt_nr: 1,
        })
      ).data.command,
    ).toBe('debug');
    expect(await v1(sim, 'job/set_command', { job_id: 5, command: 'debug' })).toMatchObject({
      success: false,
    });
  });
});

describe('watchdog', () => {
  it('fails a sent job without a pilot reply with jobDispatcherErrorCode 102', async () => {
    sim.setTimeouts({ sentTimeoutMs: 200 });
    const job = await acquiredJob(sim, 'W_SENT');
    const failed = await waitFor(
      async () => {
        const j = await getJob(sim, job.PandaID);
        return j.status === 'failed' ? j : undefined;
      },
      { what: 'the sent job to time out' },
    );
    expect(failed.jobDispatcherErrorCode).toBe(102);
    expect(failed.jobDispatcherErrorDiag).toBe(
      "Sent job didn't receive reply from pilot within 30 min",
    );
    expect(Date.now() - (failed.startTimeMs ?? 0)).toBeGreaterThanOrEqual(200);
  });

  it('fails a running job that stops sending heartbeats with code 100; heartbeats keep it alive', async () => {
    await simApi(sim, 'POST', '/sim/config', { heartbeatTimeoutMs: 300 });
    const quiet = await acquiredJob(sim, 'W_QUIET');
    const beating = await acquiredJob(sim, 'W_BEAT');
    for (const j of [quiet, beating]) {
      await v1(sim, 'pilot/update_job', {
        job_id: j.PandaID,
        job_status: 'running',
        attempt_nr: 1,
      });
    }
    const lost = await waitFor(
      async () => {
        await v1(sim, 'pilot/update_job', {
          job_id: beating.PandaID,
          job_status: 'running',
          attempt_nr: 1,
        });
        const j = await getJob(sim, quiet.PandaID);
        return j.status === 'failed' ? j : undefined;
      },
      { what: 'the quiet job to lose its heartbeat', intervalMs: 50 },
    );
    expect(lost.jobDispatcherErrorCode).toBe(100);
    expect(lost.jobDispatcherErrorDiag).toMatch(
      /^lost heartbeat : \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
    );
    expect((await getJob(sim, beating.PandaID)).status).toBe('running');
    const reply = await v1<UpdateData>(sim, 'pilot/update_job', {
      job_id: quiet.PandaID,
      job_status: 'running',
      attempt_nr: 1,
    });
    expect(reply.data.command).toBe('alreadydone');
  });

  it('fails a job stuck in holding with code 103, and reports the clocks it uses', async () => {
    const config = await simApi<{ timeouts: Record<string, number> }>(sim, 'POST', '/sim/config', {
      holdingTimeoutMs: 200,
    });
    expect(config.timeouts).toMatchObject({
      holdingTimeoutMs: 200,
      adderDelayMs: 30,
      sentTimeoutMs: 1_800_000,
    });
    await expect(simApi(sim, 'POST', '/sim/config', { holdingTimeoutMs: -1 })).rejects.toThrow(
      /HTTP 400/,
    );
    await expect(simApi(sim, 'POST', '/sim/config', { nope: 1 })).rejects.toThrow(
      /unknown timeout/,
    );
    const job = await acquiredJob(sim, 'W_HOLD');
    await v1(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'holding',
      attempt_nr: 1,
    });
    const failed = await waitFor(
      async () => {
        const j = await getJob(sim, job.PandaID);
        return j.status === 'failed' ? j : undefined;
      },
      { what: 'the holding job to time out' },
    );
    expect(failed.jobDispatcherErrorCode).toBe(103);
  });
});
