import { describe, expect, it } from 'vitest';
import type { ProcStat } from '../../../agent/proc.js';
import { ProcScanner } from '../../../agent/runner/proc-scanner.js';

const proc = (pid: number, startTicks: number): ProcStat => ({
  pid,
  ppid: 1,
  pgrp: pid,
  session: pid,
  startTicks,
  state: 'S',
  rssBytes: 0,
});

/** A fake /proc: processes 10 (old), 20 and 30 carry markers a, b, b. */
function fakeProc() {
  const table = [proc(10, 100), proc(20, 200), proc(30, 300)];
  const markers = new Map([
    [10, 'a'],
    [20, 'b'],
    [30, 'b'],
  ]);
  const environPasses: number[][] = [];
  return {
    environPasses,
    readTable: () => table,
    readMarkers: (_variable: string, candidates: readonly ProcStat[]) => {
      environPasses.push(candidates.map((p) => p.pid));
      const out = new Map<string, ProcStat[]>();
      for (const p of candidates) {
        const m = markers.get(p.pid);
        if (m !== undefined) out.set(m, [...(out.get(m) ?? []), p]);
      }
      return out;
    },
  };
}

describe('the shared /proc scanner', () => {
  it('answers thirty concurrent callers with one scan and one environment pass', async () => {
    const fake = fakeProc();
    const scanner = new ProcScanner({ intervalMs: 50, ...fake });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        scanner.snapshot({ variable: 'M', marker: i % 2 === 0 ? 'a' : 'b' }),
      ),
    );
    expect(scanner.scans).toBe(1);
    expect(fake.environPasses).toHaveLength(1);
    expect(answers[0]?.marked.map((p) => p.pid)).toEqual([10]);
    expect(answers[1]?.marked.map((p) => p.pid)).toEqual([20, 30]);
  });

  it('reads environments only of processes some caller can own, and filters per caller', async () => {
    const fake = fakeProc();
    const scanner = new ProcScanner({ intervalMs: 50, ...fake });
    const [young, old] = await Promise.all([
      scanner.snapshot({ variable: 'M', marker: 'b', sinceTicks: 250 }),
      scanner.snapshot({ variable: 'M', marker: 'b', sinceTicks: 150 }),
    ]);
    expect(fake.environPasses).toEqual([[20, 30]]);
    expect(young?.marked.map((p) => p.pid)).toEqual([30]);
    expect(old?.marked.map((p) => p.pid)).toEqual([20, 30]);
  });

  it('never answers with a snapshot older than the request', async () => {
    const fake = fakeProc();
    const scanner = new ProcScanner({ intervalMs: 20, ...fake });
    await scanner.snapshot();
    const second = scanner.snapshot();
    expect(scanner.scans).toBe(1);
    await second;
    expect(scanner.scans).toBe(2);
  });

  it('hands a failed scan to every waiting caller, and scans again for the next', async () => {
    let fail = true;
    const scanner = new ProcScanner({
      intervalMs: 1,
      readTable: () => {
        if (fail) throw new Error('no /proc');
        return [];
      },
    });
    const results = await Promise.allSettled([scanner.snapshot(), scanner.snapshot()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(scanner.snapshot()).resolves.toEqual({ table: [], marked: [] });
  });
});
