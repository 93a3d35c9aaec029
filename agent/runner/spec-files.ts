/**
 * The file names of a JobSpec, checked by the agent itself before any of them becomes a path:
 * inputs land in `work/<lfn>`, outputs are read from `work/<localName>` and may be placed at
 * `<outputsDir>/<scope>/<lfn>`, the log tarball is written as `<jobDir>/<lfn>`. The control plane
 * checks most of these when it translates a PanDA job, but not the output and log scopes, and an
 * agent must not trust a peer to keep a path inside its directories.
 */
import { checkFileName } from '../../shared/file-names.js';
import type { JobSpec } from '../../shared/gen/pgc/v1/job.js';

/** Throws a ValidationError naming the first unsafe name of the spec. */
export function checkSpecFiles(spec: JobSpec): void {
  for (const input of spec.inputs) {
    checkFileName('input LFN', input.lfn);
    if (input.scope !== '') checkFileName('input scope', input.scope);
  }
  for (const output of spec.outputs) {
    checkFileName('output name', output.localName);
    checkFileName('output LFN', output.lfn);
    if (output.scope !== '') checkFileName('output scope', output.scope);
  }
  if (spec.log !== undefined) {
    checkFileName('log LFN', spec.log.lfn);
    if (spec.log.scope !== '') checkFileName('log scope', spec.log.scope);
  }
}

/** True when the spec's log LFN can be used as a file name (the tarball is skipped otherwise). */
export function safeLogName(spec: JobSpec): boolean {
  try {
    if (spec.log !== undefined) checkFileName('log LFN', spec.log.lfn);
    return spec.log !== undefined;
  } catch {
    return false;
  }
}
