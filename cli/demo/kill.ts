/**
 * The kill the demo shows: once the long job has run for a while (its worker process started,
 * progress printed), it is killed in PanDA with v1 job/kill, as a user or JEDI kills a job. The
 * control plane notices on its next job/get_status poll and sends the kill to the job's agent,
 * which ends the whole process tree; PanDA then hears "failed" with pilot error 1144. What is
 * measured is what matters to a user: how long until no process of the job was left.
 */

import type { JobWatch } from './job-watch.js';
import { killInPanda } from './panda-view.js';
import { jobProcesses } from './payload-processes.js';
import { DEADLINES, DEMO_ENDPOINTS, KILL_AFTER_RUNNING_MS } from './settings.js';
import { pause, pollUntil } from './wait.js';
import type { DemoJob } from './workload.js';

export interface KillReport {
  pandaId: number;
  endpointId: string;
  /** The job's processes just before the kill (supervisor, Python, its worker). */
  pids: number[];
  /** From the job/kill call until none of them was left. */
  treeGoneMs: number;
  killedAtMs: number;
}

export async function killLongJob(
  watch: JobWatch,
  job: DemoJob,
  pandaUrl: string,
  note: (text: string) => void,
  signal: AbortSignal,
): Promise<KillReport> {
  // Running in PanDA too: PanDA would not send the kill to a job it has not seen start.
  await pollUntil(
    () => {
      const s = watch.snapshotOf(job.pandaId);
      return s?.state === 'running' && s.pandaStatus === 'running' ? true : undefined;
    },
    {
      timeoutMs: DEADLINES.longJobRunningMs,
      intervalMs: 100,
      what: `the long job ${job.pandaId} running`,
      signal,
    },
  );
  await pause(KILL_AFTER_RUNNING_MS, signal);
  // The bootstrap's worker is up by now: the tree is the supervisor, Python and the worker.
  const processes = await pollUntil(
    () => {
      const found = jobProcesses(DEMO_ENDPOINTS, job.pandaId);
      return found.length >= 3 ? found : undefined;
    },
    {
      timeoutMs: 5000,
      intervalMs: 50,
      what: `the long job ${job.pandaId}'s worker process`,
      signal,
    },
  );
  const endpointId = processes[0]?.endpointId ?? '?';
  const pids = processes.map((p) => p.pid);
  note(
    `killing job ${job.pandaId} (${job.label}) in PanDA (job/kill); it runs on ${endpointId} as ${pids.length} processes (${pids.join(', ')})`,
  );
  const killedAtMs = Date.now();
  await killInPanda(pandaUrl, [job.pandaId]);
  await pollUntil(
    () => (jobProcesses(DEMO_ENDPOINTS, job.pandaId).length === 0 ? true : undefined),
    {
      timeoutMs: DEADLINES.treeGoneMs,
      intervalMs: 20,
      what: `every process of the killed job ${job.pandaId} gone (were ${pids.join(', ')})`,
      signal,
    },
  );
  const treeGoneMs = Date.now() - killedAtMs;
  note(`job ${job.pandaId}: all ${pids.length} processes gone ${treeGoneMs} ms after the kill`);
  return { pandaId: job.pandaId, endpointId, pids, treeGoneMs, killedAtMs };
}
