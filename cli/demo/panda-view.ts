/**
 * PanDA's side of the demo, from the simulator: each job's status and error codes as PanDA
 * records them (/sim/jobs, the simulator's own inspection API), and a kill the way a user or
 * JEDI kills a job (v1 `job/kill`, as pbook's killJobs does).
 */
import { describeError } from '../../shared/errors.js';
import { httpRequest } from '../../shared/http.js';
import { DemoFailedError } from './wait.js';

export interface PandaJobView {
  pandaId: number;
  status: string;
  pilotErrorCode: number | null;
  pilotErrorDiag: string | null;
  jobSubStatus: string | null;
  /** JSON text keyed by LFN: {guid, fsize, adler32} of every output and the log. */
  outputReport: string | null;
}

const TIMEOUT_MS = 10_000;

async function getJson<T>(url: string): Promise<T> {
  const res = await httpRequest({
    url,
    headers: { accept: 'application/json' },
    timeoutMs: TIMEOUT_MS,
  });
  if (res.status !== 200)
    throw new Error(`GET ${url}: HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
  return JSON.parse(res.body.toString('utf8')) as T;
}

/** Every job's status in PanDA, by PandaID (one cheap call, whatever the number of jobs). */
export async function pandaStatuses(pandaUrl: string): Promise<Map<number, string>> {
  const { jobs } = await getJson<{ jobs: { pandaId: number; status: string }[] }>(
    `${pandaUrl}/sim/jobs?view=status`,
  );
  return new Map(jobs.map((j) => [j.pandaId, j.status]));
}

export function pandaJob(pandaUrl: string, pandaId: number): Promise<PandaJobView> {
  return getJson<PandaJobView>(`${pandaUrl}/sim/jobs/${pandaId}`);
}

/** adler32 of each file PanDA was told about, by LFN. */
export function reportedChecksums(view: PandaJobView): Map<string, string> {
  const out = new Map<string, string>();
  if (view.outputReport === null) return out;
  try {
    const report = JSON.parse(view.outputReport) as Record<string, { adler32?: unknown }>;
    for (const [lfn, file] of Object.entries(report))
      if (typeof file?.adler32 === 'string') out.set(lfn, file.adler32.replace(/^ad:/, ''));
  } catch {
    // Not JSON: nothing to cross-check against; the caller reports the missing checksums.
  }
  return out;
}

/** Kills jobs in PanDA (v1 job/kill). PanDA marks them; the control plane notices on its poll. */
export async function killInPanda(pandaUrl: string, pandaIds: readonly number[]): Promise<void> {
  let reply: { success?: boolean; data?: unknown; message?: string };
  try {
    const res = await httpRequest({
      url: `${pandaUrl}/api/v1/job/kill`,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ job_ids: pandaIds }),
      timeoutMs: TIMEOUT_MS,
    });
    reply = JSON.parse(res.body.toString('utf8')) as typeof reply;
  } catch (err) {
    throw new DemoFailedError(`job/kill of ${pandaIds.join(', ')} failed: ${describeError(err)}`);
  }
  const accepted = Array.isArray(reply.data) && reply.data.every((ok) => ok === true);
  if (reply.success !== true || !accepted)
    throw new DemoFailedError(
      `PanDA refused to kill ${pandaIds.join(', ')}: ${reply.message ?? JSON.stringify(reply.data)}`,
    );
}
