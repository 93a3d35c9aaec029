/**
 * The jobs the demo submits: the example tasks of examples/tasks/ (examples/tasks/README.md
 * gives the `pgc submit` command of each), sent the way `pgc submit` sends them (sim/submit.ts:
 * the code directory packed and put into the PanDA cache, inputs registered as replicas, prun
 * job parameters). Three tasks:
 *  - train: the multi-module package calotrain, two jobs reading %IN and writing two outputs;
 *  - functions: one task of three function jobs from one code directory, two returning a value
 *    and one failing with a traceback, so the good results of a batch are seen to survive a
 *    failure in it;
 *  - long: a job that runs until the demo kills it in PanDA.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { assetPath } from '../../shared/package-info.js';
import { buildJobPars } from '../../sim/job-template.js';
import { submit } from '../../sim/submit.js';
import { SimClient } from '../../sim/submit-client.js';
import { DEMO_QUEUE } from './settings.js';

export const EXAMPLES_DIR = assetPath('examples/tasks');
export const TRAIN_CODE = join(EXAMPLES_DIR, 'train');
export const FUNCTIONS_CODE = join(EXAMPLES_DIR, 'functions');
export const TRAIN_INPUTS = ['showers-a.csv', 'showers-b.csv'].map((name) =>
  join(EXAMPLES_DIR, 'inputs', name),
);
export const TRAIN_OUTPUTS = ['model.json', 'metrics.txt'];
const SCOPE = 'user.demo';

/** The --exec JSON of each example (examples/tasks/README.md shows the same). */
export const EXEC = {
  train: {
    func_name: 'main',
    pre_script: 'from calotrain.train import main',
    kwargs: { input_files: '%IN', epochs: 8 },
  },
  fitSmall: {
    func_name: 'fit_line',
    pre_script: 'from fit import fit_line',
    args: [
      [
        [1, 2.1],
        [2, 3.9],
        [3, 6.2],
        [4, 7.8],
      ],
    ],
  },
  fitLarge: {
    func_name: 'fit_line',
    pre_script: 'from fit import fit_line',
    args: [
      [
        [10, 31],
        [20, 58],
        [30, 92],
        [40, 119],
        [50, 151],
      ],
    ],
  },
  failing: { func_name: 'calibrate', pre_script: 'from calibrate import calibrate', args: [7] },
  long: { func_name: 'simulate', pre_script: 'from long_run import simulate', kwargs: {} },
} as const;

/** What a job is there to show, and so how it must end. */
export type DemoRole = 'train' | 'function' | 'failing' | 'long';

export interface DemoJob {
  pandaId: number;
  taskId: number;
  task: 'train' | 'functions' | 'long';
  role: DemoRole;
  /** One line for the tables: "calotrain.train.main(%IN)". */
  label: string;
}

export interface Workload {
  jobs: DemoJob[];
  /** The cache archive of examples/tasks/functions, for the commands printed under --keep. */
  functionsArchive: string;
}

/**
 * One task of several function jobs from a code directory already in the cache: what prun does
 * for one task, with a different --exec per job (pgc submit gives all jobs of a task one).
 */
async function submitBatch(
  pandaUrl: string,
  archive: string,
  execs: readonly object[],
): Promise<{ taskId: number; pandaIds: number[] }> {
  const client = new SimClient({ baseUrl: pandaUrl, timeoutMs: 30_000 });
  const stem = `${SCOPE}.${randomUUID().slice(0, 8)}`;
  return client.createJobs(
    execs.map((exec, i) => ({
      site: DEMO_QUEUE,
      prodSourceLabel: 'user',
      jobPars: buildJobPars({
        sourceUrl: pandaUrl,
        archive,
        outputs: [],
        exec: JSON.stringify(exec),
      }),
      log: { lfn: `${stem}.log._${String(i + 1).padStart(6, '0')}.log.tgz`, scope: SCOPE },
    })),
  );
}

/** Submits the three example tasks; the long job goes first so it is running soonest. */
export async function submitWorkload(pandaUrl: string): Promise<Workload> {
  const common = { pandaUrl, site: DEMO_QUEUE, scope: SCOPE } as const;
  const long = await submit({
    ...common,
    payload: { kind: 'exec', json: JSON.stringify(EXEC.long) },
    code: FUNCTIONS_CODE,
    inputs: [],
    outputs: [],
    njobs: 1,
  });
  const train = await submit({
    ...common,
    payload: { kind: 'exec', json: JSON.stringify(EXEC.train) },
    code: TRAIN_CODE,
    inputs: TRAIN_INPUTS,
    outputs: TRAIN_OUTPUTS,
    njobs: 2,
  });
  const batch = await submitBatch(pandaUrl, long.archive, [
    EXEC.fitSmall,
    EXEC.failing,
    EXEC.fitLarge,
  ]);
  const jobs: DemoJob[] = [
    ...train.pandaIds.map((pandaId) => ({
      pandaId,
      taskId: train.taskId,
      task: 'train' as const,
      role: 'train' as const,
      label: 'calotrain.train.main(%IN)',
    })),
    ...batch.pandaIds.map((pandaId, i) => ({
      pandaId,
      taskId: batch.taskId,
      task: 'functions' as const,
      role: i === 1 ? ('failing' as const) : ('function' as const),
      label: i === 1 ? 'calibrate.calibrate(7)' : 'fit.fit_line(points)',
    })),
    ...long.pandaIds.map((pandaId) => ({
      pandaId,
      taskId: long.taskId,
      task: 'long' as const,
      role: 'long' as const,
      label: 'long_run.simulate()',
    })),
  ];
  return { jobs, functionsArchive: long.archive };
}
