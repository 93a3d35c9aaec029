/**
 * What /proc says about processes: identity (pid + start time, so a reused pid is never taken for
 * the old process), session, resident memory, and whether a process carries a job's marker in its
 * environment. One scan serves all jobs of a tick. Linux only, as the agent is.
 */
import { readdirSync, readFileSync } from 'node:fs';

const PAGE_BYTES = 4096;

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** Process start time in clock ticks since boot (field 22): with the pid, an identity. */
  startTicks: number;
  state: string;
  rssBytes: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseStat(pid: number, text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); field N is fields[N - 3].
  const num = (n: number): number => Number(fields[n - 3]);
  return {
    pid,
    state: fields[0] ?? '?',
    ppid: num(4),
    pgrp: num(5),
    session: num(6),
    startTicks: num(22),
    rssBytes: num(24) * PAGE_BYTES,
  };
}

export function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True while the process with this identity exists and is not a zombie. */
export function isRunning(pid: number, startTicks: number): boolean {
  const stat = readStat(pid);
  return (
    stat !== undefined && stat.startTicks === startTicks && stat.state !== 'Z' && stat.state !== 'X'
  );
}

/** Every live process, one read of /proc. */
export function scanProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== undefined && stat.state !== 'Z' && stat.state !== 'X') out.push(stat);
  }
  return out;
}

/** The value of `variable` in a process's environment, if readable. */
export function environValue(pid: number, variable: string): string | undefined {
  let data: Buffer;
  try {
    data = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  const prefix = `${variable}=`;
  for (const entry of data.toString('utf8').split('\0')) {
    if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  }
  return undefined;
}

/**
 * Processes whose environment carries a marker variable, grouped by its value. A payload can leave
 * its process group and session (setsid, double fork) but not easily shed its environment, so the
 * marker finds what the group kill missed (RELIABILITY.md §5).
 */
export function processesByMarker(
  variable: string,
  processes: readonly ProcStat[] = scanProcesses(),
): Map<string, ProcStat[]> {
  const own = process.pid;
  const found = new Map<string, ProcStat[]>();
  for (const p of processes) {
    if (p.pid === own) continue;
    const value = environValue(p.pid, variable);
    if (value === undefined) continue;
    const list = found.get(value) ?? [];
    list.push(p);
    found.set(value, list);
  }
  return found;
}
