/**
 * Kill is fast and total (DESIGN.md): SIGTERM to the job's process group, wait the grace, SIGKILL
 * the group, then SIGKILL whatever still carries the job's marker (descendants that left the group
 * with setsid or a double fork). Resolves only when nothing of the job is left. Signals go to the
 * group only while its leader (the supervisor) is verified alive by pid and start time, so a
 * reused pid is never signalled; stragglers are signalled one by one by identity.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../shared/logger.js';
import { isRunning, type ProcStat, processesByMarker, scanProcesses } from '../proc.js';
import type { ProcessIdentity } from './supervisor.js';

export interface KillTarget {
  supervisor: ProcessIdentity;
  /** The marker variable and this job's value of it. */
  markerVariable: string;
  marker: string;
}

export interface KillOptions {
  graceMs: number;
  log: Logger;
  pollMs?: number;
  /** Give up (and log) if processes survive SIGKILL this long (D-state, another uid). */
  stubbornMs?: number;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    // ESRCH: already gone, which is what we want.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Members of the job's session or group started no earlier than its supervisor. */
export function treeMembers(supervisor: ProcessIdentity, table: readonly ProcStat[]): ProcStat[] {
  const { pid, startTicks } = supervisor;
  // Without a known supervisor (pid 0: it ended before its identity was read) only the marker
  // finds the job; session 0 would be the kernel's threads.
  if (pid <= 1) return [];
  // Linux does not reuse a pid while it is still a live session or group id, so processes in
  // the job's session are ours even after the supervisor ended — unless the pid now names
  // another process, whose session then is not ours (pids wrap at 32768 here).
  const holder = table.find((p) => p.pid === pid);
  if (holder !== undefined && holder.startTicks !== startTicks) return [];
  return table.filter(
    (p) =>
      (p.session === pid || p.pgrp === pid) && p.startTicks >= startTicks && p.pid !== process.pid,
  );
}

function survivors(target: KillTarget, withMarker: boolean): ProcStat[] {
  const table = scanProcesses();
  const found = new Map(treeMembers(target.supervisor, table).map((p) => [p.pid, p]));
  if (withMarker) {
    // Nothing of the job is older than its supervisor: only younger processes' environments are
    // read (reading every process's environ after every job was a measurable cost).
    const { pid, startTicks } = target.supervisor;
    const candidates = pid > 1 ? table.filter((p) => p.startTicks >= startTicks) : table;
    for (const p of processesByMarker(target.markerVariable, candidates).get(target.marker) ?? [])
      found.set(p.pid, p);
  }
  return [...found.values()];
}

function signalAll(target: KillTarget, sig: NodeJS.Signals, stragglers: readonly ProcStat[]): void {
  const { pid, startTicks } = target.supervisor;
  if (pid > 1 && isRunning(pid, startTicks)) signal(-pid, sig);
  for (const p of stragglers) if (isRunning(p.pid, p.startTicks)) signal(p.pid, sig);
}

/** SIGTERM, grace, SIGKILL, marker sweep; resolves when no process of the job remains. */
export async function killJobTree(target: KillTarget, options: KillOptions): Promise<void> {
  const pollMs = options.pollMs ?? 50;
  let left = survivors(target, true);
  if (left.length === 0) return;
  signalAll(target, 'SIGTERM', left);
  const graceEnd = Date.now() + options.graceMs;
  while (Date.now() < graceEnd) {
    await delay(Math.min(pollMs, Math.max(0, graceEnd - Date.now())));
    left = survivors(target, false);
    if (left.length === 0) break;
  }
  const stubbornEnd = Date.now() + (options.stubbornMs ?? 10_000);
  for (;;) {
    left = survivors(target, true);
    if (left.length === 0) return;
    if (Date.now() > stubbornEnd) {
      options.log.error(
        { pids: left.map((p) => p.pid) },
        'processes of a killed job survive SIGKILL',
      );
      return;
    }
    signalAll(target, 'SIGKILL', left);
    await delay(pollMs);
  }
}
