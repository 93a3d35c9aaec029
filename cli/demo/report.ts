/**
 * What the demo shows once its jobs are over, each part through the same code as the command a
 * user would type: a job's logs (`pgc logs`), the failing job's traceback (`pgc logs --stderr`),
 * the killed job, the outputs downloaded and verified (`pgc outputs`), then a summary. Every
 * section also checks what it shows and returns the problems it found.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { digestFile } from '../../shared/checksum.js';
import { describeError } from '../../shared/errors.js';
import type { AdminFlags } from '../admin/connection.js';
import { table } from '../admin/table.js';
import { runLogs } from '../commands/admin-logs.js';
import { runOutputs } from '../commands/admin-outputs.js';
import type { CliIo } from '../program.js';
import { indent } from './child-process.js';
import { EXPECTED_PILOT_CODE } from './expectations.js';
import type { KillReport } from './kill.js';
import type { JobOutcome } from './outcomes.js';
import { reportedChecksums } from './panda-view.js';

type Print = (text: string) => void;

/** A CliIo that keeps what a command prints, to show it indented under a heading. */
function capture(): { io: CliIo; stdout: () => string; stderr: () => string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(Buffer.from(text)),
    stderr: (text) => err.push(Buffer.from(text)),
    stdoutBytes: async (data) => {
      out.push(Buffer.from(data));
    },
    stderrBytes: async (data) => {
      err.push(Buffer.from(data));
    },
    env: {},
  };
  const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
  return { io, stdout: () => text(out), stderr: () => text(err) };
}

const quoted = (text: string): string => indent(text.trimEnd(), '  | ');

function heading(print: Print, text: string): void {
  print(`\n== ${text}\n`);
}

function where(o: JobOutcome): string {
  return o.detail.summary?.endpointId || 'no endpoint';
}

/** `pgc logs <id>` of one training job: its stdout, line by line as the payload printed it. */
export async function showLogs(print: Print, admin: AdminFlags, o: JobOutcome): Promise<string[]> {
  heading(
    print,
    `logs of job ${o.job.pandaId}, ${o.job.label} on ${where(o)} (pgc logs ${o.job.pandaId})`,
  );
  const c = capture();
  try {
    await runLogs(o.job.pandaId, { ...admin, stdout: true }, c.io);
  } catch (err) {
    return [`pgc logs ${o.job.pandaId} failed: ${describeError(err)}`];
  }
  print(`${quoted(c.stdout())}\n`);
  return c.stdout().includes('epoch 8/8')
    ? []
    : [`the logs of job ${o.job.pandaId} lack its epochs`];
}

/** The failing job's stderr (its Python traceback) and the rest of its task doing fine. */
export async function showTraceback(
  print: Print,
  admin: AdminFlags,
  failing: JobOutcome,
  sameTask: readonly JobOutcome[],
): Promise<string[]> {
  const id = failing.job.pandaId;
  heading(
    print,
    `the failing job ${id}, ${failing.job.label}: its traceback (pgc logs ${id} --stderr)`,
  );
  const c = capture();
  try {
    await runLogs(id, { ...admin, stderr: true }, c.io);
  } catch (err) {
    return [`pgc logs ${id} --stderr failed: ${describeError(err)}`];
  }
  print(`${quoted(c.stdout())}\n`);
  print(
    `  PanDA: ${failing.panda.status}, pilot error ${failing.panda.pilotErrorCode ?? 'none'}` +
      ` (${failing.panda.pilotErrorDiag ?? 'no diagnostic'})\n`,
  );
  for (const other of sameTask)
    print(
      `  job ${other.job.pandaId} of the same task, ${other.job.label}: ${other.facts.state}, returned ${other.facts.returnValueJson || 'nothing'}\n`,
    );
  const problems: string[] = [];
  if (
    !c.stdout().includes('Traceback (most recent call last)') ||
    !c.stdout().includes('LookupError')
  )
    problems.push(`job ${id}'s stderr holds no LookupError traceback`);
  return problems;
}

/** The killed job: its code in PanDA, how fast its process tree was gone, its last words. */
export async function showKill(
  print: Print,
  admin: AdminFlags,
  killed: JobOutcome,
  kill: KillReport,
): Promise<string[]> {
  const id = killed.job.pandaId;
  heading(print, `the killed job ${id}, ${killed.job.label}`);
  const failure = killed.detail.summary?.failure;
  const lines = [
    `killed in PanDA (job/kill) while it ran on ${kill.endpointId}`,
    `its ${kill.pids.length} processes (supervisor, Python, its worker: ${kill.pids.join(', ')}) were gone ${kill.treeGoneMs} ms after the kill`,
    `control plane: ${killed.facts.state}, ${killed.facts.failureCode ?? 'no failure code'}${failure ? `: ${failure.message}` : ''}`,
    `PanDA: ${killed.panda.status}, pilot error ${killed.panda.pilotErrorCode ?? 'none'}` +
      ` (${killed.panda.pilotErrorDiag ?? 'no diagnostic'}), job_sub_status ${killed.panda.jobSubStatus ?? '-'}`,
  ];
  print(`${lines.map((l) => `  ${l}`).join('\n')}\n`);
  // Its logs outlive it: what it printed up to the kill (pgc logs <id> --tail 3).
  const c = capture();
  await runLogs(id, { ...admin, stdout: true, tail: 3 }, c.io).catch(() => undefined);
  print(`  its last lines (pgc logs ${id} --tail 3):\n${quoted(c.stdout())}\n`);
  return killed.panda.pilotErrorCode === EXPECTED_PILOT_CODE.long
    ? []
    : [`the killed job ${id} has pilot error ${killed.panda.pilotErrorCode}`];
}

/** `pgc outputs <id>` of each training job, and each file's adler32 checked a second time. */
export async function showOutputs(
  print: Print,
  admin: AdminFlags,
  outcomes: readonly JobOutcome[],
  outputsDir: string,
): Promise<string[]> {
  heading(print, `outputs, downloaded and verified (pgc outputs <id> -o ${outputsDir})`);
  const problems: string[] = [];
  for (const o of outcomes) {
    const dir = join(outputsDir, String(o.job.pandaId));
    mkdirSync(dir, { recursive: true });
    const c = capture();
    try {
      await runOutputs(o.job.pandaId, { ...admin, output: dir }, c.io);
    } catch (err) {
      problems.push(`pgc outputs ${o.job.pandaId} failed: ${describeError(err)}`);
    }
    print(`  job ${o.job.pandaId} on ${where(o)}:\n`);
    print(`${indent(c.stdout().replaceAll(`${dir}/`, '').trimEnd(), '    ')}\n`);
    // The download was checked against the job record; this compares file, record and PanDA.
    const told = reportedChecksums(o.panda);
    for (const file of o.detail.result?.outputs ?? []) {
      const local = await digestFile(join(dir, file.lfn)).catch(() => undefined);
      const inPanda = told.get(file.lfn);
      const agree = local?.adler32 === file.adler32 && inPanda === file.adler32;
      print(
        `    ${file.localName}: adler32 of the file ${local?.adler32 ?? 'missing'}, in PanDA's output report ${inPanda ?? 'missing'}${agree ? ' (agree)' : ' (DIFFER)'}\n`,
      );
      if (!agree) problems.push(`job ${o.job.pandaId}: checksums of ${file.lfn} differ`);
    }
  }
  return problems;
}

const clip = (text: string, max = 60): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/** One row per job: where it ran, how it ended on both sides, what it returned or why it failed. */
export function showSummary(print: Print, outcomes: readonly JobOutcome[]): void {
  heading(print, 'summary');
  const rows = outcomes.map((o) => {
    const code = o.panda.pilotErrorCode ? ` ${o.panda.pilotErrorCode}` : '';
    const failure = o.detail.summary?.failure;
    return [
      String(o.job.pandaId),
      o.job.task,
      o.job.label,
      where(o),
      o.facts.state ?? '-',
      `${o.panda.status}${code}`,
      clip(failure ? failure.message : o.facts.returnValueJson || '-'),
    ];
  });
  print(
    indent(
      table(['PANDAID', 'TASK', 'JOB', 'ENDPOINT', 'STATE', 'PANDA', 'RESULT'], rows).trimEnd(),
      '  ',
    ),
  );
  print('\n');
}
