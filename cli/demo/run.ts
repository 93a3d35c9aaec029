/**
 * The demo from start to summary: start the system, submit the example tasks, show progress
 * while the long job is killed, then logs, traceback, kill and outputs; under --keep, leave it
 * running until a signal. Starting and stopping the processes is DemoSystem's; the command
 * (cli/commands/demo.ts) owns signals, the directory and the exit status.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../../shared/errors.js';
import { assetPath } from '../../shared/package-info.js';
import { AdminConnection, type AdminFlags } from '../admin/connection.js';
import { indent, tailOfFile } from './child-process.js';
import type { DemoSystem } from './demo-system.js';
import { outcomeProblems } from './expectations.js';
import { JobWatch, watchUntilDone } from './job-watch.js';
import { type KillReport, killLongJob } from './kill.js';
import { gatherOutcomes, type JobOutcome } from './outcomes.js';
import { ProgressDisplay } from './progress.js';
import { showKill, showLogs, showOutputs, showSummary, showTraceback } from './report.js';
import { DEADLINES, DEMO_ENDPOINTS, DEMO_QUEUE, POLL_INTERVAL_MS } from './settings.js';
import { DemoFailedError } from './wait.js';
import { type DemoJob, EXEC, FUNCTIONS_CODE, submitWorkload } from './workload.js';

export interface DemoRunOptions {
  system: DemoSystem;
  keep: boolean;
  tty: boolean;
  print: (text: string) => void;
  signal: AbortSignal;
  startedAtMs: number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function only<T>(items: readonly T[], what: string): T {
  const [item] = items;
  if (item === undefined) throw new Error(`the demo has no ${what}`);
  return item;
}

/** Runs the demo; resolves when it is over (under --keep: when a signal asked it to stop). */
export async function runDemo(o: DemoRunOptions): Promise<void> {
  const { system, print } = o;
  print(`pgc demo: the whole system on this machine; state and logs in ${system.dir}\n`);
  print(
    `starting nats-server, the PanDA simulator, the control plane and agents ${DEMO_ENDPOINTS.join(', ')}…\n`,
  );
  try {
    await system.start(o.signal);
  } catch (err) {
    throw explained(err, system, []);
  }
  const urls = system.urls;
  print(
    `  up after ${seconds(Date.now() - o.startedAtMs)}: control plane ${urls.controlAddress}, ` +
      `PanDA ${urls.pandaUrl}, NATS ${urls.natsUrl}, queue ${DEMO_QUEUE}\n`,
  );

  const workload = await submitWorkload(urls.pandaUrl);
  const submittedAtMs = Date.now();
  describeWorkload(print, workload.jobs);
  const admin = new AdminConnection({ server: urls.controlAddress });
  const adminFlags: AdminFlags = { server: urls.controlAddress };
  // Ends whatever the kill still waits for when the watch fails first.
  const phase = new AbortController();
  const abortPhase = () => phase.abort(o.signal.reason);
  o.signal.addEventListener('abort', abortPhase, { once: true });
  try {
    const watch = new JobWatch(admin, urls.pandaUrl, workload.jobs);
    const display = new ProgressDisplay(print, o.tty);
    const longJob = only(
      workload.jobs.filter((j) => j.role === 'long'),
      'long job',
    );
    let killError: Error | undefined;
    const kill = killLongJob(
      watch,
      longJob,
      urls.pandaUrl,
      (text) => display.note(text),
      phase.signal,
    ).catch((err: unknown) => {
      killError = err instanceof Error ? err : new Error(String(err));
      return undefined;
    });
    try {
      await watchUntilDone(watch, {
        display,
        startedAtMs: submittedAtMs,
        timeoutMs: DEADLINES.allFinalMs,
        intervalMs: POLL_INTERVAL_MS,
        signal: o.signal,
        failure: () => killError ?? deadProcess(system),
      });
    } finally {
      display.finish();
    }
    const killReport = await kill;
    if (killReport === undefined) throw killError ?? new DemoFailedError('the kill did not happen');
    print(`all ${workload.jobs.length} jobs over after ${seconds(Date.now() - submittedAtMs)}\n`);

    const outcomes = await gatherOutcomes(admin, urls.pandaUrl, workload.jobs);
    const problems = await report(print, adminFlags, outcomes, killReport, system);
    showSummary(print, outcomes);
    if (problems.length > 0)
      throw explained(
        new DemoFailedError(`the demo did not go as expected:\n  ${problems.join('\n  ')}`),
        system,
        outcomes,
      );
    const finished = outcomes.filter((x) => x.facts.state === 'finished').length;
    print(
      `\ndemo ok in ${seconds(Date.now() - o.startedAtMs)}: ${outcomes.length} jobs on ${DEMO_ENDPOINTS.length} endpoints, ` +
        `${finished} finished with their results and outputs, 1 failed with its traceback, 1 killed (tree gone in ${killReport.treeGoneMs} ms)\n`,
    );
  } catch (err) {
    throw explained(err, system, []);
  } finally {
    o.signal.removeEventListener('abort', abortPhase);
    phase.abort();
    admin.close();
  }
  if (o.keep) await keepRunning(o, workload.jobs, workload.functionsArchive);
}

function describeWorkload(print: (text: string) => void, jobs: readonly DemoJob[]): void {
  const ids = (task: DemoJob['task']) =>
    jobs
      .filter((j) => j.task === task)
      .map((j) => j.pandaId)
      .join(', ');
  const taskOf = (task: DemoJob['task']) => jobs.find((j) => j.task === task)?.taskId ?? '?';
  print('submitted the example tasks of examples/tasks/ (as pgc submit does):\n');
  print(
    `  task ${taskOf('train')}  jobs ${ids('train')}: calotrain.train.main on 2 staged inputs (%IN), writes model.json and metrics.txt\n`,
  );
  print(
    `  task ${taskOf('functions')}  jobs ${ids('functions')}: fit_line twice (returns a value) and calibrate(7) (raises)\n`,
  );
  print(`  task ${taskOf('long')}  job ${ids('long')}: long_run.simulate, to be killed in PanDA\n`);
}

/** A demo process that exited while it should be running, as an error with its log tail. */
function deadProcess(system: DemoSystem): Error | undefined {
  const dead = system.children.find((c) => !c.running);
  return dead === undefined
    ? undefined
    : new DemoFailedError(dead.failure(`exited (${dead.describeExit()})`).message, true);
}

/** A demo failure with the end of the logs that explain it (once); other errors as they are. */
function explained(err: unknown, system: DemoSystem, outcomes: readonly JobOutcome[]): unknown {
  if (!(err instanceof DemoFailedError) || err.explained) return err;
  return new DemoFailedError(`${err.message}${logTails(system, outcomes)}`, true);
}

async function report(
  print: (text: string) => void,
  admin: AdminFlags,
  outcomes: readonly JobOutcome[],
  kill: KillReport,
  system: DemoSystem,
): Promise<string[]> {
  const problems = outcomes.flatMap((x) => outcomeProblems(x.facts));
  const of = (role: DemoJob['role']) => outcomes.filter((x) => x.job.role === role);
  try {
    const training = of('train');
    problems.push(...(await showLogs(print, admin, only(training, 'training job'))));
    const failing = only(of('failing'), 'failing job');
    const sameTask = outcomes.filter((x) => x.job.taskId === failing.job.taskId && x !== failing);
    problems.push(...(await showTraceback(print, admin, failing, sameTask)));
    problems.push(...(await showKill(print, admin, only(of('long'), 'long job'), kill)));
    problems.push(...(await showOutputs(print, admin, training, join(system.dir, 'outputs'))));
  } catch (err) {
    problems.push(`showing the results failed: ${describeError(err)}`);
  }
  return problems;
}

/** The end of the logs that explain a failure: the control plane's and those of the agents. */
function logTails(system: DemoSystem, outcomes: readonly JobOutcome[]): string {
  const endpoints = new Set(
    outcomes.map((x) => x.detail.summary?.endpointId).filter((e): e is string => !!e),
  );
  const names = [
    'control',
    ...DEMO_ENDPOINTS.filter((e) => endpoints.size === 0 || endpoints.has(e)).map(
      (e) => `agent-${e}`,
    ),
  ];
  return names
    .map((name) => {
      const file = system.logFile(name);
      return `\nthe end of ${file}:\n${indent(tailOfFile(file, 10))}`;
    })
    .join('');
}

/** How to type pgc here: `npx pgc` in a checkout (bin/pgc.js runs the sources), else `pgc`. */
function pgcCommand(): string {
  return existsSync(assetPath('cli/main.ts')) ? 'npx pgc' : 'pgc';
}

async function keepRunning(
  o: DemoRunOptions,
  jobs: readonly DemoJob[],
  functionsArchive: string,
): Promise<void> {
  const { print, system } = o;
  const urls = system.urls;
  const pgc = pgcCommand();
  const job = jobs[0]?.pandaId ?? 1;
  const exec = JSON.stringify(EXEC.fitSmall);
  print('\nthe system keeps running (--keep). In another shell:\n\n');
  print(`export PGC_ADDR=${urls.controlAddress}\n`);
  print(`export PGC_PANDA_URL=${urls.pandaUrl}\n`);
  print(`export PGC_NATS_URL=${urls.natsUrl}\n`);
  print(
    [
      '',
      `${pgc} endpoints`,
      `${pgc} jobs`,
      `${pgc} job ${job}`,
      `${pgc} logs ${job}`,
      `${pgc} outputs ${job} -o /tmp/pgc-demo-outputs`,
      `${pgc} submit --site ${DEMO_QUEUE} --code ${FUNCTIONS_CODE} --exec '${exec}'`,
      `${pgc} kill <pandaId>`,
      '',
      `(examples/tasks/README.md has a pgc submit command for each example; the sandbox ${functionsArchive} is in the cache already)`,
      `state, logs and downloaded outputs stay in ${system.dir} after the demo stops`,
      'Ctrl-C (or SIGTERM) stops everything.',
      '',
    ].join('\n'),
  );
  const stopped = new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const died = system.firstExit().then((why) => new DemoFailedError(`while kept running: ${why}`));
  const outcome = await Promise.race([stopped, died]);
  if (outcome instanceof Error) throw outcome;
}
