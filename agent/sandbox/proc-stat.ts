/**
 * Is the process that wrote a lock or a staging directory still there? A pid alone is not
 * enough: pids are reused, so the holder is identified by (pid, start time), the start time being
 * field 22 of /proc/<pid>/stat (clock ticks since boot; proc(5)).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseStat } from '../proc.js';

/** Field 22 of a /proc/<pid>/stat line, as text (the lock file stores it so). */
export function parseStartTime(statLine: string): string | undefined {
  const ticks = parseStat(0, statLine)?.startTicks;
  return ticks !== undefined && Number.isInteger(ticks) && ticks >= 0 ? String(ticks) : undefined;
}

let ownStartTime: string | undefined;

/** This process's start time; '0' where /proc is not available. */
export function selfStartTime(): string {
  if (ownStartTime === undefined) {
    try {
      ownStartTime = parseStartTime(readFileSync('/proc/self/stat', 'utf8')) ?? '0';
    } catch {
      ownStartTime = '0';
    }
  }
  return ownStartTime;
}

export type Liveness = 'alive' | 'dead' | 'reused';

/** Whether (pid, startTime) still names a running process. */
export async function processLiveness(pid: number, startTime: string): Promise<Liveness> {
  if (!Number.isInteger(pid) || pid <= 0) return 'dead';
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: the pid exists but belongs to another user, which our lock holder never is.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return 'dead';
    return 'reused';
  }
  let current: string | undefined;
  try {
    current = parseStartTime(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // Gone between kill() and the read, or no /proc: trust kill() alone.
    return startTime === '0' ? 'alive' : 'dead';
  }
  if (current === undefined || startTime === '0') return 'alive';
  return current === startTime ? 'alive' : 'reused';
}
