import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PandaSim } from '../../../sim/server.js';
import {
  acquiredJob,
  type DispatchedJob,
  defineJobs,
  getJob,
  goodReport,
  postMultipart,
  simApi,
  startSim,
  v1,
} from '../../harness/sim.js';
import { waitFor } from '../../harness/wait.js';

let sim: PandaSim;
beforeAll(async () => {
  sim = await startSim({ timeouts: { adderDelayMs: 50, watchdogIntervalMs: 20 } });
});
afterAll(async () => {
  await sim.close();
});

type UpdateData = { StatusCode: number; command: string | null };
const lfnsOf = (job: DispatchedJob): string[] => job.outFiles.split(',');

describe('acquire_jobs', () => {
  it('hands out activated jobs of the site and label, n_jobs at a time, and moves them to sent', async () => {
    const { pandaIds } = await defineJobs(sim, [
      { site: 'ACQ_Q', jobPars: '-p a' },
      { site: 'ACQ_Q', jobPars: '-p b' },
      { site: 'ACQ_Q', jobPars: '-p c' },
      { site: 'ACQ_OTHER', jobPars: '-p d' },
      { site: 'ACQ_Q', jobPars: '-p e', prodSourceLabel: 'managed' },
    ]);
    const first = await v1<{ StatusCode: number; jobs: DispatchedJob[] }>(
      sim,
      'pilot/acquire_jobs',
      {
        site_name: 'ACQ_Q',
        prod_source_label: 'user',
        n_jobs: 2,
        node: 'wn1',
      },
    );
    expect(first.success).toBe(true);
    expect(first.message).toBe('');
    expect(first.data.StatusCode).toBe(0);
    expect(first.data.jobs.map((j) => j.PandaID)).toEqual(pandaIds.slice(0, 2));
    expect(first.data.jobs[0]).toMatchObject({
      StatusCode: 0,
      prodSourceLabel: 'user',
      attemptNr: 1,
      jobPars: '-p a',
    });
    const second = await v1<{ jobs: DispatchedJob[] }>(sim, 'pilot/acquire_jobs', {
      site_name: 'ACQ_Q',
      prod_source_label: 'user',
      n_jobs: 5,
    });
    expect(second.data.jobs.map((j) => j.PandaID)).toEqual([pandaIds[2]]);
    expect(second.data.jobs[0]?.nSent).toBe(2);
    expect(
      await v1(sim, 'pilot/acquire_jobs', { site_name: 'ACQ_Q', prod_source_label: 'user' }),
    ).toEqual({
      success: false,
      message: 'No jobs in PanDA',
      data: null,
    });
    // Without a label only managed jobs come out.
    const managed = await v1<{ jobs: DispatchedJob[] }>(sim, 'pilot/acquire_jobs', {
      site_name: 'ACQ_Q',
    });
    expect(managed.data.jobs.map((j) => j.PandaID)).toEqual([pandaIds[4]]);
    expect((await getJob(sim, pandaIds[0] as number)).status).toBe('sent');
    expect((await getJob(sim, pandaIds[3] as number)).status).toBe('activated');
  });

  it('fills input files from registered replicas', async () => {
    const reg = await postMultipart(sim, '/sim/files', [
      { name: 'scope', value: 'user.acq' },
      { name: 'file', filename: 'in.dat', data: Buffer.from('input bytes') },
    ]);
    expect(reg.status).toBe(201);
    const replica = JSON.parse(reg.text) as {
      guid: string;
      adler32: string;
      fsize: number;
    };
    const job = await acquiredJob(sim, 'IN_Q', { inputs: [{ scope: 'user.acq', lfn: 'in.dat' }] });
    expect(job).toMatchObject({
      inFiles: 'in.dat',
      GUID: replica.guid,
      fsize: String(replica.fsize),
      checksum: `ad:${replica.adler32}`,
      scopeIn: 'user.acq',
      realDatasetsIn: 'user.acq.sim_inputs',
    });
  });
});

describe('update_job', () => {
  it('stores finished as holding, then the Adder finishes the job', async () => {
    const job = await acquiredJob(sim, 'UPD_OK');
    const id = job.PandaID;
    for (const job_status of ['starting', 'running']) {
      const r = await v1<UpdateData>(sim, 'pilot/update_job', {
        job_id: id,
        job_status,
        attempt_nr: 1,
      });
      expect(r).toEqual({ success: true, message: '', data: { StatusCode: 0, command: 'NULL' } });
    }
    const final = await v1<UpdateData>(sim, 'pilot/update_job', {
      job_id: id,
      job_status: 'finished',
      attempt_nr: 1,
      job_output_report: goodReport(lfnsOf(job)),
      core_count: 1,
      max_rss: 12345,
    });
    expect(final.data).toEqual({ StatusCode: 0, command: 'NULL' });
    const holding = await getJob(sim, id);
    expect(holding.status).toBe('holding');
    expect(holding.startTimeMs).not.toBeNull();
    expect(holding.endTimeMs).not.toBeNull();
    const done = await waitFor(
      async () => ((await getJob(sim, id)).status === 'finished' ? getJob(sim, id) : undefined),
      {
        what: `job ${id} finished by the Adder`,
      },
    );
    expect(done.ddmErrorCode).toBeNull();
    expect(done.history.map((c) => c.method)).toEqual([
      'pilot/acquire_jobs',
      'pilot/update_job',
      'pilot/update_job',
      'pilot/update_job',
    ]);
    expect(done.history[3]?.params).toMatchObject({ job_status: 'finished', max_rss: 12345 });
    expect(done.history[3]?.reply).toEqual({
      success: true,
      message: '',
      data: { StatusCode: 0, command: 'NULL' },
    });
    // Archived now: the pilot is told to stop.
    const late = await v1<UpdateData>(sim, 'pilot/update_job', {
      job_id: id,
      job_status: 'running',
      attempt_nr: 1,
    });
    expect(late.data.command).toBe('tobekilled');
  });

  it('fails a job with ddmErrorCode 200 when the report misses a checksum', async () => {
    const job = await acquiredJob(sim, 'UPD_BAD');
    const report = JSON.parse(goodReport(lfnsOf(job))) as Record<string, Record<string, unknown>>;
    delete report[job.logFile]?.adler32;
    await v1(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'running',
      attempt_nr: 1,
    });
    await v1(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'finished',
      attempt_nr: 1,
      job_output_report: JSON.stringify(report),
    });
    const failed = await waitFor(
      async () => {
        const j = await getJob(sim, job.PandaID);
        return j.status === 'failed' ? j : undefined;
      },
      { what: 'the Adder failing the job' },
    );
    expect(failed.ddmErrorCode).toBe(200);
    expect(failed.ddmErrorDiag).toBe('Could not get GUID/LFN/MD5/FSIZE/SURL from pilot JSON');
    const again = await v1<UpdateData>(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'running',
      attempt_nr: 1,
    });
    expect(again.data.command).toBe('alreadydone');
  });

  it('answers tobekilled for another attempt or an unknown job, and refuses invalid states', async () => {
    const job = await acquiredJob(sim, 'UPD_ATT');
    const other = await v1<UpdateData>(sim, 'pilot/update_job', {
      job_id: job.PandaID,
      job_status: 'running',
      attempt_nr: 2,
    });
    expect(other.data).toEqual({ StatusCode: 0, command: 'tobekilled' });
    expect((await getJob(sim, job.PandaID)).status).toBe('sent');
    const unknown = await v1<UpdateData>(sim, 'pilot/update_job', {
      job_id: 999,
      job_status: 'running',
    });
    expect(unknown.data.command).toBe('tobekilled');
    expect(await v1(sim, 'pilot/update_job', { job_id: job.PandaID, job_status: 'done' })).toEqual({
      success: false,
      message: 'Invalid job status: done',
      data: { StatusCode: 50 },
    });
  });
});

describe('update_jobs_bulk', () => {
  it('returns one full envelope per job in input order; a bad element fails alone', async () => {
    const a = await acquiredJob(sim, 'BULK_A');
    const b = await acquiredJob(sim, 'BULK_B');
    const reply = await v1<unknown[]>(sim, 'pilot/update_jobs_bulk', {
      harvester_id: 'h1',
      job_list: [
        { job_id: a.PandaID, job_status: 'running', attempt_nr: 1 },
        { job_id: b.PandaID, job_status: 'running', attempt_nr: 1, jobSubStatus: 'x' },
        { job_id: b.PandaID, job_status: 'running', attempt_nr: '1' },
        { job_id: 424242, job_status: 'running' },
      ],
    });
    expect(reply.success).toBe(true);
    expect(reply.data).toEqual([
      { success: true, message: '', data: { StatusCode: 0, command: 'NULL' } },
      {
        success: false,
        message: "Argument error: update_job() got an unexpected keyword argument 'jobSubStatus'",
        data: null,
      },
      {
        success: false,
        message: "Type error: 'attempt_nr' must be of type int, got str.",
        data: null,
      },
      { success: true, message: '', data: { StatusCode: 0, command: 'tobekilled' } },
    ]);
    expect((await getJob(sim, a.PandaID)).status).toBe('running');
    expect((await getJob(sim, b.PandaID)).status).toBe('sent');
    expect((await getJob(sim, b.PandaID)).history.map((h) => h.method)).toContain(
      'pilot/update_jobs_bulk',
    );
  });

  it('fails the whole reply when an element lacks job_id, as the server raises KeyError', async () => {
    const c = await acquiredJob(sim, 'BULK_C');
    const reply = await v1(sim, 'pilot/update_jobs_bulk', {
      job_list: [
        { job_id: c.PandaID, job_status: 'running', attempt_nr: 1 },
        { job_status: 'running' },
      ],
    });
    expect(reply).toEqual({ success: false, message: "failed with KeyError 'job_id'", data: [] });
    // The element before the bad one was applied all the same.
    expect((await getJob(sim, c.PandaID)).status).toBe('running');
  });
});

describe('simulator inspection', () => {
  it('lists jobs and refuses bad ids', async () => {
    const all = await simApi<{ jobs: { pandaId: number }[] }>(sim, 'GET', '/sim/jobs');
    expect(all.jobs.length).toBeGreaterThan(5);
    const brief = await simApi<{ jobs: Record<string, unknown>[] }>(
      sim,
      'GET',
      '/sim/jobs?view=status',
    );
    expect(brief.jobs).toHaveLength(all.jobs.length);
    expect(Object.keys(brief.jobs[0] ?? {}).sort()).toEqual(['pandaId', 'status']);
    await expect(simApi(sim, 'GET', '/sim/jobs/abc')).rejects.toThrow(/HTTP 400/);
    await expect(simApi(sim, 'GET', '/sim/jobs/1')).rejects.toThrow(/HTTP 404/);
    await expect(simApi(sim, 'POST', '/sim/jobs', { jobs: [{ site: 'Q' }] })).rejects.toThrow(
      /jobPars/,
    );
    await expect(
      simApi(sim, 'POST', '/sim/jobs', {
        jobs: [{ site: 'Q', jobPars: '', inputs: [{ scope: 'user.x', lfn: 'missing.dat' }] }],
      }),
    ).rejects.toThrow(/not a registered replica/);
  });
});
