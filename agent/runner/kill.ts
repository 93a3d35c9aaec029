/**
 * Kill is fast and total (DESIGN.md): SIGTERM to the job's process group, wait the grace, SIGKILL
 * the group, then SIGKILL whatever still carries the job's marker (descendants that left the group
 * with setsid or a double fork). Resolves only when nothing of the job is left. Signals go to the
 * group only while its leader (the supervisor) is verified alive by pid and start time, so a
 * reused pid is never signalled; stragglers are signalled one by one by identity.
 * Concurrent kills share /proc scans (proc-scanner.ts): during the grace a kill only re-reads the
 * stat files of the tree members it knows, and asks for a scan once none of them is left.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../shared/logger.js';
import { isRunning, type ProcStat, readStat } from '../proc.js';
import { type ProcScanner, sharedScanner } from './proc-scanner.js';
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
  /** Where snapshots of /proc come from; every kill shares the agent's one by default. */
  scanner?: ProcScanner;
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

/**
 * Whether a process found in the tree is still in it, from its stat file alone: the same process
 * (start time), not a zombie, still in the supervisor's session or group. True means a fresh scan
 * would find the tree non-empty too, so the grace can go on without one.
 */
export function stillMember(supervisor: ProcessIdentity, member: ProcStat): boolean {
  const now = readStat(member.pid);
  return (
    now !== undefined &&
    now.startTicks === member.startTicks &&
    now.state !== 'Z' &&
    now.state !== 'X' &&
    (now.session === supervisor.pid || now.pgrp === supervisor.pid)
  );
}

/** What one snapshot says is left of the job: its tree, and that plus the marked stragglers. */
interface Left {
  members: ProcStat[];
  all: ProcStat[];
}

/** A shared snapshot (one scan serves every kill in flight), read for this job. */
async function survivors(target: KillTarget, scanner: ProcScanner): Promise<Left> {
  const { pid, startTicks } = target.supervisor;
  const { table, marked } = await scanner.snapshot({
    variable: target.markerVariable,
    marker: target.marker,
    // Nothing of the job is older than its supervisor: only younger processes' environments are
    // read (reading every process's environment after every job was a measurable cost).
    ...(pid > 1 ? { sinceTicks: startTicks } : {}),
  });
  const members = treeMembers(target.supervisor, table);
  const found = new Map(members.map((p) => [p.pid, p]));
  for (const p of marked) found.set(p.pid, p);
  return { members, all: [...found.values()] };
}

/** The group while its leader is verified alive (a reused pid is never signalled). */
function signalGroup(target: KillTarget, sig: NodeJS.Signals): void {
  const { pid, startTicks } = target.supervisor;
  if (pid > 1 && isRunning(pid, startTicks)) signal(-pid, sig);
}

/** Each process by identity: stragglers outside the group, members that changed group. */
function signalEach(sig: NodeJS.Signals, processes: readonly ProcStat[]): void {
  for (const p of processes) if (isRunning(p.pid, p.startTicks)) signal(p.pid, sig);
}

/** SIGTERM, grace, SIGKILL, marker sweep; resolves when no process of the job remains. */
export async function killJobTree(target: KillTarget, options: KillOptions): Promise<void> {
  const pollMs = options.pollMs ?? 50;
  const scanner = options.scanner ?? sharedScanner;
  // The group at once, not after the wait for a shared scan: most of a tree is in it.
  signalGroup(target, 'SIGTERM');
  let left = await survivors(target, scanner);
  if (left.all.length === 0) return;
  signalEach('SIGTERM', left.all);
  const graceEnd = Date.now() + options.graceMs;
  let swept: Left | undefined;
  let known = left.members;
  while (Date.now() < graceEnd) {
    await delay(Math.min(pollMs, Math.max(0, graceEnd - Date.now())));
    // While a known member is still in the tree the grace goes on: one stat read per member, no
    // scan. Only when none is does a scan decide, as before, whether the tree is gone (it may
    // have forked since); that snapshot, with the marker, is then also the first sweep below.
    if (known.some((p) => stillMember(target.supervisor, p))) continue;
    left = await survivors(target, scanner);
    if (left.members.length === 0) {
      swept = left;
      break;
    }
    known = left.members;
  }
  // The grace is over: the group at once, as with SIGTERM, not after the wait for a scan (a
  // no-op when the leader already ended).
  signalGroup(target, 'SIGKILL');
  const stubbornEnd = Date.now() + (options.stubbornMs ?? 10_000);
  for (;;) {
    left = swept ?? (await survivors(target, scanner));
    swept = undefined;
    if (left.all.length === 0) return;
    if (Date.now() > stubbornEnd) {
      options.log.error(
        { pids: left.all.map((p) => p.pid) },
        'processes of a killed job survive SIGKILL',
      );
      return;
    }
    signalGroup(target, 'SIGKILL');
    signalEach('SIGKILL', left.all);
    await delay(pollMs);
  }
}
