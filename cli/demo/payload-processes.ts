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

/** Payloads of these endpoints under `dir` (another demo's endpoints may share the names). */
function payloadsUnder(endpoints: readonly string[], dir: string): PayloadProcess[] {
  return payloadProcesses(endpoints).filter((p) => cwdOf(p.pid)?.startsWith(dir));
}

function signalTree(p: PayloadProcess, signal: NodeJS.Signals): void {
  // The supervisor leads the session's process group; the pid itself in case it left it.
  for (const target of [-p.session, p.pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // Gone already (ESRCH), or the group was not its own.
    }
  }
}

/**
 * Ends the payloads still running under `dir` as the agent kills a job: SIGTERM to each
 * process group, up to `graceMs` to go, then SIGKILL. Returns how many processes there were.
 */
export async function endPayloads(
  endpoints: readonly string[],
  dir: string,
  graceMs: number,
): Promise<number> {
  const running = payloadsUnder(endpoints, dir);
  for (const p of running) signalTree(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (payloadsUnder(endpoints, dir).length > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  for (const p of payloadsUnder(endpoints, dir)) signalTree(p, 'SIGKILL');
  return running.length;
}
