/**
 * Jobs as a test or `pgc submit` defines them through `POST /sim/jobs`: the stand-in for what
 * JEDI would generate from a prun task. Inputs must be registered replicas, so the dispatcher can
 * fill GUID/fsize/checksum exactly as PanDA does from its file table.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ValidationError } from '../shared/errors.js';

export const DEFAULT_SCOPE = 'user.sim';
export const SITE_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
export const SCOPE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
export const LFN_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.+=:-]{0,254}$/;
const DATASET_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,254}$/;
const MAX_JOBS_PER_CALL = 10_000;

const scope = z.string().regex(SCOPE_PATTERN, 'scope: letters, digits, "_", "." or "-"');
const lfn = z.string().regex(LFN_PATTERN, 'LFN: letters, digits and "_.+=:-", no "/"');
const dataset = z.string().regex(DATASET_PATTERN, 'dataset: letters, digits and "_.:/-"');
const count = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 31 - 1);

export const NEW_JOB = z
  .object({
    site: z.string().regex(SITE_PATTERN, 'site: a PanDA queue name'),
    jobPars: z.string().max(1 << 18),
    prodSourceLabel: z
      .string()
      .regex(/^[a-z_]{1,20}$/)
      .default('user'),
    transformation: z.string().min(1).max(1024).optional(),
    inputs: z.array(z.object({ scope, lfn }).strict()).max(1000).default([]),
    outputs: z
      .array(z.object({ lfn, scope: scope.optional(), dataset: dataset.optional() }).strict())
      .max(1000)
      .default([]),
    log: z.object({ lfn, scope: scope.optional() }).strict().optional(),
    taskId: count.positive().optional(),
    coreCount: count.positive().default(1),
    minRamCount: count.default(0),
    maxWalltime: count.default(0),
    attemptNr: count.positive().default(1),
    extra: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const NEW_JOBS = z.object({ jobs: z.array(NEW_JOB).min(1).max(MAX_JOBS_PER_CALL) }).strict();

export type NewJob = z.infer<typeof NEW_JOB>;

/** A replica of a registered file (the simulator's Rucio). */
export interface Replica {
  scope: string;
  lfn: string;
  guid: string;
  fsize: number;
  adler32: string;
  dataset: string;
}

export interface JobFile {
  lfn: string;
  scope: string;
  dataset: string;
  /** Inputs and the log have one; outputs get theirs from the pilot's report. */
  guid: string | null;
  fsize: number | null;
  /** `ad:<8 hex>` as PanDA stores it. */
  checksum: string | null;
}

export interface JobDefinition {
  pandaId: number;
  taskId: number;
  site: string;
  prodSourceLabel: string;
  transformation: string;
  jobPars: string;
  inputs: JobFile[];
  outputs: JobFile[];
  log: JobFile;
  coreCount: number;
  minRamCount: number;
  maxWalltime: number;
  attemptNr: number;
  extra: Record<string, unknown>;
}

export interface DefineContext {
  pandaId: number;
  taskId: number;
  /** The simulator's base URL, for the default transformation. */
  baseUrl: string;
  findReplica: (scope: string, lfn: string) => Replica | undefined;
}

/** Turns one validated request entry into a definition; unknown inputs are refused by name. */
export function defineJob(spec: NewJob, ctx: DefineContext): JobDefinition {
  const taskId = spec.taskId ?? ctx.taskId;
  const inputs = spec.inputs.map(({ scope: s, lfn: l }): JobFile => {
    const replica = ctx.findReplica(s, l);
    if (replica === undefined) {
      throw new ValidationError(
        `input ${s}:${l} is not a registered replica; POST it to /sim/files first`,
      );
    }
    return {
      lfn: l,
      scope: s,
      dataset: replica.dataset,
      guid: replica.guid,
      fsize: replica.fsize,
      checksum: `ad:${replica.adler32}`,
    };
  });
  const firstScope = spec.log?.scope ?? spec.outputs[0]?.scope ?? DEFAULT_SCOPE;
  const outputs = spec.outputs.map(
    (o): JobFile => ({
      lfn: o.lfn,
      scope: o.scope ?? firstScope,
      dataset: o.dataset ?? `${o.scope ?? firstScope}.sim_task${taskId}_out/`,
      guid: null,
      fsize: null,
      checksum: null,
    }),
  );
  const logScope = spec.log?.scope ?? firstScope;
  const log: JobFile = {
    lfn: spec.log?.lfn ?? `${logScope}.${taskId}.${ctx.pandaId}.log.tgz`,
    scope: logScope,
    dataset: `${logScope}.sim_task${taskId}.log/`,
    guid: randomUUID(),
    fsize: null,
    checksum: null,
  };
  const names = [...outputs.map((o) => o.lfn), log.lfn];
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new ValidationError(`output LFN ${duplicate} appears twice in job ${ctx.pandaId}`);
  }
  return {
    pandaId: ctx.pandaId,
    taskId,
    site: spec.site,
    prodSourceLabel: spec.prodSourceLabel,
    transformation: spec.transformation ?? `${ctx.baseUrl}/trf/user/runGen-00-00-02`,
    jobPars: spec.jobPars,
    inputs,
    outputs,
    log,
    coreCount: spec.coreCount,
    minRamCount: spec.minRamCount,
    maxWalltime: spec.maxWalltime,
    attemptNr: spec.attemptNr,
    extra: spec.extra,
  };
}
