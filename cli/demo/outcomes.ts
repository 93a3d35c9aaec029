/**
 * The facts about each demo job once it is over: the control plane's full record (Admin
 * GetJob, what `pgc job` shows) and PanDA's record of it (the simulator).
 */
import type { JobDetail } from '../../shared/gen/pgc/v1/admin.js';
import { FailureCode } from '../../shared/gen/pgc/v1/common.js';
import type { AdminConnection } from '../admin/connection.js';
import { stateWord } from '../admin/shapes.js';
import type { OutcomeFacts } from './expectations.js';
import { type PandaJobView, pandaJob, reportedChecksums } from './panda-view.js';
import type { DemoJob } from './workload.js';

export interface JobOutcome {
  job: DemoJob;
  detail: JobDetail;
  panda: PandaJobView;
  facts: OutcomeFacts;
}

export async function gatherOutcomes(
  admin: AdminConnection,
  pandaUrl: string,
  jobs: readonly DemoJob[],
): Promise<JobOutcome[]> {
  return Promise.all(
    jobs.map(async (job) => {
      const [detail, panda] = await Promise.all([
        admin.getJob(job.pandaId),
        pandaJob(pandaUrl, job.pandaId),
      ]);
      const result = detail.result;
      const failure = detail.summary?.failure ?? result?.failure;
      const facts: OutcomeFacts = {
        pandaId: job.pandaId,
        role: job.role,
        label: job.label,
        state: detail.summary ? stateWord(detail.summary.state) : undefined,
        failureCode: failure === undefined ? undefined : FailureCode[failure.code],
        returnValueJson: result?.returnValueJson ?? '',
        outputs: (result?.outputs ?? []).map((o) => ({ lfn: o.lfn, adler32: o.adler32 })),
        pandaStatus: panda.status,
        pilotErrorCode: panda.pilotErrorCode,
        pandaChecksums: reportedChecksums(panda),
      };
      return { job, detail, panda, facts };
    }),
  );
}
