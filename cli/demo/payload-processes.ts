/**
 * The demo's payload processes, found the way the agent finds its own: by the marker variable
 * the agent puts in every payload's environment (`<endpoint>/<attempt>`). The demo uses it to
 * show that a kill took the whole tree, and, when it stops, to make sure no payload of its
 * endpoints outlives it (an agent stopped hard leaves its payloads running by design).
 */
import { readlinkSync } from 'node:fs';
import { MARKER_VARIABLE } from '../../agent/agent-core.js';
import { type ProcStat, processesByMarker } from '../../agent/proc.js';

export interface PayloadProcess {
  endpointId: string;
  pandaId: number;
  pid: number;
  /** The supervisor leads the payload's session; killing its group takes the tree. */
  session: number;
}

/** "0000000000000123.0001" → 123. */
function pandaIdOfAttempt(attempt: string): number | undefined {
  const m = /^(\d+)\.\d+$/.exec(attempt);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Live payload processes of these endpoints (any of their jobs). */
export function payloadProcesses(endpoints: readonly string[]): PayloadProcess[] {
  const found: PayloadProcess[] = [];
  for (const [marker, procs] of processesByMarker(MARKER_VARIABLE)) {
    const [endpointId, attempt] = marker.split('/');
    if (endpointId === undefined || !endpoints.includes(endpointId)) continue;
    const pandaId = pandaIdOfAttempt(attempt ?? '');
    if (pandaId === undefined) continue;
    for (const p of procs as ProcStat[])
      found.push({ endpointId, pandaId, pid: p.pid, session: p.session });
  }
  return found;
}

export function jobProcesses(endpoints: readonly string[], pandaId: number): PayloadProcess[] {
  return payloadProcesses(endpoints).filter((p) => p.pandaId === pandaId);
}

function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/**
 * SIGKILLs every payload of these endpoints that runs under `dir` (another demo's endpoints may
 * share the names, never the directory); returns how many processes were left.
 */
export function killLeftoverPayloads(endpoints: readonly string[], dir: string): number {
  const left = payloadProcesses(endpoints).filter((p) => cwdOf(p.pid)?.startsWith(dir));
  for (const p of left) {
    for (const target of [-p.session, p.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Gone already (ESRCH), or the group was not its own.
      }
    }
  }
  return left.length;
}
