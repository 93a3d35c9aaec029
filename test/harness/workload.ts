/**
 * The end-to-end workload: prun-style jobs defined in the simulator — function jobs that return
 * values (a multi-module package shipped through the cache), command jobs, and one in ten built
 * to fail — and the check that every job reached exactly one final state in PanDA with the right
 * codes and a valid output report.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from 'tar';
import { buildJobPars, outputLfn } from '../../sim/job-template.js';
import type { PandaSim } from '../../sim/server.js';
import { defineJobs, getJob, type JobView, postMultipart } from './sim.js';

const CALC = fileURLToPath(new URL('../fixtures/packages/calc', import.meta.url));
export const ARCHIVE = 'jobO.e2e-calc.tar.gz';

export type JobKind = 'function' | 'command' | 'failing-function' | 'failing-command' | 'long';

export interface WorkloadJob {
  pandaId: number;
  index: number;
  kind: JobKind;
  queue: string;
}

export async function uploadCalcPackage(sim: PandaSim, dir: string): Promise<void> {
  const file = join(dir, ARCHIVE);
  await create({ gzip: true, file, cwd: CALC, portable: true }, ['calc']);
  const reply = await postMultipart(
    sim,
    '/api/v1/file_server/upload_cache_file',
    [{ name: 'file', filename: ARCHIVE, data: readFileSync(file) }],
    {
      accept: 'application/json',
    },
  );
  if (reply.status !== 200 || !reply.text.includes('"success": true'))
    throw new Error(`upload failed: ${reply.text}`);
}

function kindOf(index: number): JobKind {
  if (index % 10 === 9) return index % 20 === 19 ? 'failing-command' : 'failing-function';
  return index % 2 === 0 ? 'function' : 'command';
}

function execFor(kind: JobKind, index: number, sleepS: number): string {
  switch (kind) {
    case 'function':
      return JSON.stringify({
        func_name: 'square',
        pre_script: 'from calc.ops import square',
        args: [index],
        kwargs: { sleep_s: sleepS },
      });
    case 'failing-function':
      return JSON.stringify({
        func_name: 'explode',
        pre_script: 'from calc.ops import explode',
        args: [index],
      });
    case 'command':
      return `sleep ${sleepS}; echo hello-${index} > out.dat`;
    case 'failing-command':
      return `echo "failing on purpose ${index}" >&2; exit 3`;
    case 'long':
      return `sleep 3600`;
  }
}

/** Defines `count` jobs spread over `queues`; `sleepS` makes them last a little. */
export async function defineWorkload(
  sim: PandaSim,
  queues: readonly string[],
  count: number,
  sleepS = 0.2,
  firstIndex = 0,
): Promise<WorkloadJob[]> {
  const jobs: WorkloadJob[] = [];
  const defs: Array<Record<string, unknown>> = [];
  for (let index = firstIndex; index < firstIndex + count; index++) {
    const kind = kindOf(index);
    const queue = queues[index % queues.length] as string;
    const lfn = outputLfn(`user.pgc.e2e${queue}`, index, 'out.dat');
    defs.push({
      site: queue,
      jobPars: buildJobPars({
        sourceUrl: sim.url,
        archive: ARCHIVE,
        outputs: [['out.dat', lfn]],
        exec: execFor(kind, index, sleepS),
      }),
      outputs: [{ lfn, scope: 'user.pgc' }],
    });
    jobs.push({ pandaId: 0, index, kind, queue });
  }
  const { pandaIds } = await defineJobs(sim, defs);
  pandaIds.forEach((id, i) => {
    const job = jobs[i];
    if (job) job.pandaId = id;
  });
  return jobs;
}

const FINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);

export async function finalViews(
  sim: PandaSim,
  jobs: readonly WorkloadJob[],
): Promise<JobView[] | undefined> {
  const views = await Promise.all(jobs.map((j) => getJob(sim, j.pandaId)));
  return views.every((v) => FINAL.has(v.status)) ? views : undefined;
}

/** Problems with the outcome of the workload; empty when every job ended once and right. */
export function workloadProblems(
  jobs: readonly WorkloadJob[],
  views: readonly JobView[],
): string[] {
  const problems: string[] = [];
  jobs.forEach((job, i) => {
    const view = views[i];
    if (view === undefined) return;
    const where = `job ${job.pandaId} (#${job.index}, ${job.kind})`;
    const finalMoves = view.events.filter((e) => FINAL.has(e.type));
    if (finalMoves.length !== 1)
      problems.push(
        `${where}: ${finalMoves.length} final states (${finalMoves.map((e) => e.type).join(', ')})`,
      );
    const finalUpdates = view.history.filter(
      (c) =>
        c.method.includes('update_job') &&
        ['finished', 'failed'].includes(String(c.params.job_status)),
    );
    const statuses = new Set(finalUpdates.map((c) => String(c.params.job_status)));
    if (statuses.size > 1)
      problems.push(`${where}: contradictory final updates ${[...statuses].join(' and ')}`);
    const failing = job.kind.startsWith('failing');
    if (failing) {
      if (view.status !== 'failed') problems.push(`${where}: expected failed, got ${view.status}`);
      else if (view.pilotErrorCode !== 1305)
        problems.push(`${where}: pilot error ${view.pilotErrorCode}, expected 1305`);
      return;
    }
    if (view.status !== 'finished') {
      problems.push(
        `${where}: expected finished, got ${view.status} (pilot ${view.pilotErrorCode}, ddm ${view.ddmErrorCode}, dispatcher ${view.jobDispatcherErrorCode})`,
      );
      return;
    }
    if (job.kind === 'function') {
      const meta = finalUpdates.at(-1)?.params.meta_data;
      const value =
        typeof meta === 'string'
          ? (JSON.parse(meta) as { return_value?: unknown }).return_value
          : undefined;
      if (JSON.stringify(value) !== JSON.stringify({ square: job.index * job.index }))
        problems.push(`${where}: return value ${JSON.stringify(value)}`);
    }
  });
  return problems;
}

/** Defines one command job per entry of `commands` on `queue` (no outputs unless asked). */
export async function defineCommandJobs(
  sim: PandaSim,
  queue: string,
  commands: readonly string[],
  options: { firstSerial?: number; withOutput?: boolean } = {},
): Promise<number[]> {
  const first = options.firstSerial ?? 0;
  const defs = commands.map((command, i) => {
    const lfn = outputLfn(`user.pgc.cmd${queue}`, first + i, 'out.dat');
    return {
      site: queue,
      jobPars: buildJobPars({
        sourceUrl: sim.url,
        archive: ARCHIVE,
        outputs: options.withOutput ? [['out.dat', lfn]] : [],
        exec: command,
      }),
      outputs: options.withOutput ? [{ lfn, scope: 'user.pgc' }] : [],
    };
  });
  return (await defineJobs(sim, defs)).pandaIds;
}
