import { describe, expect, it } from 'vitest';
import type { ProcStat } from '../../../agent/proc.js';
import { treeMembers } from '../../../agent/runner/kill.js';

const proc = (pid: number, session: number, pgrp: number, startTicks: number): ProcStat => ({
  pid,
  ppid: 1,
  pgrp,
  session,
  startTicks,
  state: 'S',
  rssBytes: 0,
});

describe('the process tree of a job', () => {
  const supervisor = { pid: 500, startTicks: 1000 };

  it('is the supervisor and everything in its session or group started after it', () => {
    const table = [
      proc(500, 500, 500, 1000),
      proc(501, 500, 500, 1001),
      proc(640, 500, 640, 1200),
      proc(700, 700, 700, 900),
    ];
    expect(treeMembers(supervisor, table).map((p) => p.pid)).toEqual([500, 501, 640]);
  });

  it('keeps orphans of an ended supervisor (the kernel does not reuse a live session id)', () => {
    expect(treeMembers(supervisor, [proc(501, 500, 500, 1001)]).map((p) => p.pid)).toEqual([501]);
  });

  it('is empty when the pid now names another process and its session', () => {
    const reused = [proc(500, 500, 500, 5000), proc(502, 500, 500, 5001)];
    expect(treeMembers(supervisor, reused)).toEqual([]);
  });

  it('never includes session 0 (kernel threads) for an unknown supervisor', () => {
    expect(treeMembers({ pid: 0, startTicks: 0 }, [proc(2, 0, 0, 1)])).toEqual([]);
  });
});
