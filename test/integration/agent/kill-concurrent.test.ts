/**
 * Many kills at once (an operator killing a whole task): every tree ends completely — including
 * grandchildren that left the job's session with setsid and ignore SIGTERM — and the kills share
 * their /proc scans instead of each scanning the whole table every poll.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, type ProcStat, processesByMarker, readStat } from '../../../agent/proc.js';
import { killJobTree } from '../../../agent/runner/kill.js';
import { sharedScanner } from '../../../agent/runner/proc-scanner.js';
import { silentLogger } from '../../../shared/logger.js';
import { waitFor } from '../../harness/wait.js';

/** Not the agent's marker variable: agents of other runs on this machine never see these. */
const MARKER_VARIABLE = 'PGC_KILL_TEST_MARKER';
const JOBS = 30;
const GRACE_MS = 1000;
/**
 * The supervisor stand-in (session and group leader, as supervisor.pl is), a sleep in its group,
 * and a child shell that starts two grandchildren in sessions of their own (setsid) and then
 * stays in the group as a sleep. With IGNORE=1 the leader ignores SIGTERM before anything starts,
 * so the whole tree inherits it. Shell and sleep rather than the Python fixture: 30 trees of
 * Python interpreters would take about a gigabyte on this 2-core machine, and the fixture has no
 * setsid flag.
 */
const SCRIPT = `[ "$IGNORE" = 1 ] && trap '' TERM
sh -c 'setsid sleep 3600 & setsid sleep 3600 & exec sleep 3600' &
sleep 3600 &
wait`;
const PER_TREE = 5;

interface Job {
  child: ChildProcess;
  ignores: boolean;
  marker: string;
  supervisor: { pid: number; startTicks: number };
  processes: ProcStat[];
}

const jobs: Job[] = [];

afterEach(() => {
  // Whatever a failed assertion left behind, by identity (a reused pid is never signalled).
  for (const job of jobs.splice(0))
    for (const p of job.processes)
      if (isRunning(p.pid, p.startTicks)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // Gone in between.
        }
      }
});

function start(marker: string, ignores: boolean): ChildProcess {
  return spawn('/bin/sh', ['-c', SCRIPT], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [MARKER_VARIABLE]: marker, IGNORE: ignores ? '1' : '0' },
  });
}

describe('concurrent kills', () => {
  it('end thirty trees, half ignoring SIGTERM with grandchildren escaped by setsid, with scans shared', async () => {
    const run = randomUUID();
    for (let i = 0; i < JOBS; i++) {
      const marker = `${run}/${i}`;
      const ignores = i % 2 === 1;
      const child = start(marker, ignores);
      const pid = child.pid ?? 0;
      const startTicks = readStat(pid)?.startTicks ?? -1;
      jobs.push({ child, ignores, marker, supervisor: { pid, startTicks }, processes: [] });
    }
    await waitFor(
      () => {
        const byMarker = processesByMarker(MARKER_VARIABLE);
        for (const job of jobs) job.processes = byMarker.get(job.marker) ?? [];
        return jobs.every((j) => j.processes.length === PER_TREE);
      },
      { what: `${JOBS} trees of ${PER_TREE} processes running`, timeoutMs: 30_000 },
    );
    for (const job of jobs) {
      // Two really left: another session, another group.
      const escaped = job.processes.filter(
        (p) => p.session !== job.supervisor.pid && p.pgrp !== job.supervisor.pid,
      );
      expect(escaped).toHaveLength(2);
    }

    const scansBefore = sharedScanner.scans;
    const t0 = performance.now();
    const tookMs = await Promise.all(
      jobs.map(async (job) => {
        const startedAt = Date.now();
        await killJobTree(
          { supervisor: job.supervisor, markerVariable: MARKER_VARIABLE, marker: job.marker },
          { graceMs: GRACE_MS, log: silentLogger() },
        );
        return Date.now() - startedAt;
      }),
    );
    const elapsedMs = performance.now() - t0;
    const scans = sharedScanner.scans - scansBefore;

    // Every process of every tree is gone (zombies of our own children count as gone).
    const left = processesByMarker(MARKER_VARIABLE);
    expect(jobs.filter((j) => left.has(j.marker)).map((j) => j.marker)).toEqual([]);
    for (const job of jobs)
      expect(job.processes.filter((p) => isRunning(p.pid, p.startTicks))).toEqual([]);
    // The trees that ignore SIGTERM were SIGKILLed only after the grace.
    jobs.forEach((job, i) => {
      if (job.ignores) expect(tookMs[i]).toBeGreaterThanOrEqual(GRACE_MS);
    });
    // At most one scan per scanner interval, however many kills (a scan per kill per poll was
    // about JOBS × GRACE_MS / 50 = 600 here). +2: timers may fire a millisecond early.
    expect(scans).toBeGreaterThan(0);
    expect(scans).toBeLessThanOrEqual(Math.floor(elapsedMs / sharedScanner.intervalMs) + 2);
  });
});
