/**
 * The job dict acquire_jobs hands out: the key set and order of srv jobdispatcher/Protocol.py::
 * Response.appendJob for a plain prun user job (no event service, no debug, no secrets), plus
 * `nSent` (reference §1.4). Per-file values are comma-joined parallel lists; outFiles, realDatasets,
 * destinationDblock, ... include the log, scopeOut does not; unset strings are "NULL".
 */
import type { JobDefinition, JobFile } from './job-definition.js';
import { type PyDict, PyFloat, type PyValue } from './py-value.js';

/** The owner DN the simulator gives every job (prodUserID). */
export const SIM_USER_DN = '/DC=org/DC=panda-sim/CN=Simulated User';
/** The storage endpoint (RSE) name of every simulated replica. */
export const SIM_RSE = 'PANDA_SIM_DISK';

const joined = (files: readonly JobFile[], pick: (f: JobFile) => string | number | null): string =>
  files.map((f) => String(pick(f) ?? 'NULL')).join(',');

/** JSON from /sim/jobs `extra` into Python values (non-integral numbers become floats). */
export function jsonToPy(v: unknown): PyValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? v : new PyFloat(v);
  if (Array.isArray(v)) return v.map(jsonToPy);
  if (typeof v === 'object') {
    return new Map(
      Object.entries(v as Record<string, unknown>).map(([k, item]) => [k, jsonToPy(item)]),
    );
  }
  return String(v);
}

export function dispatcherJob(def: JobDefinition, attemptNr: number, nSent: number): PyDict {
  const ins = def.inputs;
  const outs = [...def.outputs, def.log];
  const job: [string, PyValue][] = [
    ['StatusCode', 0],
    ['PandaID', def.pandaId],
    ['prodSourceLabel', def.prodSourceLabel],
    ['swRelease', 'NULL'],
    ['homepackage', 'NULL'],
    ['transformation', def.transformation],
    ['jobName', `${def.log.scope}.${def.taskId}.${def.pandaId}`],
    ['jobDefinitionID', def.taskId],
    ['cloud', 'WORLD'],
    ['inFiles', joined(ins, (f) => f.lfn)],
    ['dispatchDblock', joined(ins, () => 'NULL')],
    ['dispatchDBlockToken', joined(ins, () => 'NULL')],
    ['dispatchDBlockTokenForOut', joined(outs, () => 'NULL')],
    ['outFiles', joined(outs, (f) => f.lfn)],
    ['destinationDblock', joined(outs, (f) => `${f.dataset.replace(/\/$/, '')}_sub0`)],
    ['destinationDBlockToken', joined(outs, () => 'NULL')],
    ['prodDBlocks', joined(ins, (f) => f.dataset)],
    ['prodDBlockToken', joined(ins, () => 'NULL')],
    ['realDatasets', joined(outs, (f) => f.dataset)],
    ['realDatasetsIn', joined(ins, (f) => f.dataset)],
    ['fileDestinationSE', joined(outs, () => def.site)],
    ['logFile', def.log.lfn],
    ['logGUID', def.log.guid ?? 'NULL'],
    ['jobPars', def.jobPars],
    ['attemptNr', attemptNr],
    ['GUID', joined(ins, (f) => f.guid)],
    ['checksum', joined(ins, (f) => f.checksum)],
    ['fsize', joined(ins, (f) => f.fsize)],
    ['scopeIn', joined(ins, (f) => f.scope)],
    ['scopeOut', joined(def.outputs, (f) => f.scope)],
    ['scopeLog', def.log.scope],
    ['ddmEndPointIn', joined(ins, () => SIM_RSE)],
    ['ddmEndPointOut', joined(outs, () => SIM_RSE)],
    ['destinationSE', def.site],
    ['prodUserID', SIM_USER_DN],
    ['maxCpuCount', 0],
    ['minRamCount', def.minRamCount],
    ['maxDiskCount', 0],
    ['cmtConfig', 'NULL'],
    ['processingType', 'panda-client-1.5.0-jedi-run'],
    ['transferType', 'NULL'],
    ['sourceSite', 'NULL'],
    ['currentPriority', 1000],
    ['taskID', def.taskId],
    ['coreCount', def.coreCount],
    ['jobsetID', def.taskId],
    ['reqID', 'NULL'],
    ['nucleus', 'NULL'],
    ['maxWalltime', def.maxWalltime],
    ['resource_type', def.coreCount > 1 ? 'MCORE' : 'SCORE'],
    ['ioIntensity', null],
    ['ioIntensityUnit', null],
    ['nSent', nSent],
  ];
  const dict: PyDict = new Map(job);
  // Malformed-input tests override keys verbatim (or add new ones at the end).
  for (const [k, v] of Object.entries(def.extra)) dict.set(k, jsonToPy(v));
  return dict;
}
