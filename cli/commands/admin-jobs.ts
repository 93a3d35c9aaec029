/** `pgc jobs` (filtered, paged list) and `pgc job <id>` (one job in full). */
import type { JobDetail, JobState } from '../../shared/gen/pgc/v1/admin.js';
import { type AdminFlags, withAdmin } from '../admin/connection.js';
import {
  jobDetailJson,
  jobSummaryJson,
  type locationJson,
  resultFiles,
  stateWord,
} from '../admin/shapes.js';
import { bytes, table, utc } from '../admin/table.js';
import type { CliIo } from '../program.js';

export interface JobsFlags extends AdminFlags {
  state?: JobState[];
  endpoint?: string;
  queue?: string;
  task?: number;
  limit: number;
  pageToken?: string;
}

export async function runJobs(flags: JobsFlags, io: CliIo): Promise<void> {
  const page = await withAdmin(flags, (a) =>
    a.listJobs({
      states: flags.state ?? [],
      endpointId: flags.endpoint ?? '',
      queue: flags.queue ?? '',
      taskId: flags.task ?? 0,
      pageSize: flags.limit,
      pageToken: flags.pageToken ?? '',
    }),
  );
  if (flags.json) {
    const jobs = page.jobs.map(jobSummaryJson);
    io.stdout(`${JSON.stringify({ jobs, nextPageToken: page.nextPageToken || null })}\n`);
    return;
  }
  if (page.jobs.length === 0) io.stdout('no jobs\n');
  else
    io.stdout(
      table(
        ['PANDAID', 'ATTEMPT', 'STATE', 'QUEUE', 'ENDPOINT', 'TASK', 'UPDATED', 'FAILURE'],
        page.jobs.map((j) => [
          String(j.key?.pandaId ?? 0),
          String(j.key?.attemptNr ?? 0),
          stateWord(j.state) + (j.reported ? '' : isFinalWord(j.state) ? ' (unreported)' : ''),
          j.queue,
          j.endpointId || '-',
          j.taskId ? String(j.taskId) : '-',
          utc(j.updatedAtMs),
          j.failure?.message ?? '',
        ]),
      ),
    );
  if (page.nextPageToken) io.stdout(`more: pgc jobs --page-token ${page.nextPageToken}\n`);
}

const isFinalWord = (s: JobState): boolean =>
  ['finished', 'failed', 'cancelled'].includes(stateWord(s));

export async function runJob(pandaId: number, flags: AdminFlags, io: CliIo): Promise<void> {
  const detail = await withAdmin(flags, (a) => a.getJob(pandaId));
  io.stdout(flags.json ? `${JSON.stringify(jobDetailJson(detail))}\n` : describeJob(detail));
}

function describeJob(d: JobDetail): string {
  const j = d.summary ? jobSummaryJson(d.summary) : undefined;
  const spec = jobDetailJson(d).spec;
  const lines: string[] = [];
  const field = (name: string, value: string): void => {
    lines.push(`${`${name}:`.padEnd(12)}${value}`);
  };
  field('job', `${j?.pandaId} attempt ${j?.attemptNr}${j?.jobName ? ` (${j.jobName})` : ''}`);
  field('state', `${j?.state}${j?.reported ? ', reported to PanDA' : ''}`);
  field('queue', j?.queue ?? '-');
  field('endpoint', j?.endpointId ?? '-');
  if (j?.taskId) field('task', String(j.taskId));
  if (spec?.payload?.kind === 'command') field('command', spec.payload.command);
  if (spec?.payload?.kind === 'function') field('function', spec.payload.funcName);
  if (spec) {
    const l = spec.limits;
    field(
      'limits',
      `${l.cores} core(s), ${l.memoryMb || '-'} MB, walltime ${l.walltimeS || '-'} s`,
    );
    if (spec.sandboxUrl) field('sandbox', spec.sandboxUrl);
    if (spec.inputs.length > 0) field('inputs', spec.inputs.map((i) => i.lfn).join(', '));
  }
  if (j?.failure) field('failure', `${j.failure.code}: ${j.failure.message}`);
  const r = d.result;
  if (r) {
    const exit = r.exitCode !== undefined ? `exit ${r.exitCode}` : r.signal || 'no exit code';
    field('result', `${r.failure ? 'failed' : 'finished'} (${exit})`);
    if (r.errorDiag) field('diag', r.errorDiag);
  }
  lines.push('', 'timeline:');
  for (const h of d.history) lines.push(`  ${utc(h.atMs)}  ${h.type.padEnd(14)} ${h.message}`);
  const files = resultFiles(r);
  if (files.length > 0) {
    lines.push('', 'files:');
    lines.push(
      table(
        ['  KIND', 'LFN', 'SIZE', 'ADLER32', 'WHERE'],
        files.map((f) => [`  ${f.kind}`, f.lfn, bytes(f.sizeBytes), f.adler32, where(f.location)]),
      ).trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}

function where(l: ReturnType<typeof locationJson>): string {
  if (l === null) return 'not stored';
  return 'path' in l ? `site filesystem ${l.path}` : `object store ${l.bucket}/${l.name}`;
}
