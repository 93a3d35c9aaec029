import { describe, expect, it } from 'vitest';
import { jobsToRequest, nextPollDelayMs, type PollTiming } from '../../../control/poll-policy.js';

const TIMING: PollTiming = {
  pollIntervalMs: 1000,
  idlePollIntervalMs: 10_000,
  errorBackoffMaxMs: 8000,
};
const mid = () => 0.5;

describe('poll policy', () => {
  it('polls every second while jobs come or capacity is missing, every 10 s after No jobs', () => {
    expect(nextPollDelayMs('jobs', 0, TIMING)).toBe(1000);
    expect(nextPollDelayMs('no-capacity', 0, TIMING)).toBe(1000);
    expect(nextPollDelayMs('no-jobs', 0, TIMING)).toBe(10_000);
  });

  it('backs off exponentially after errors, from the poll interval up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => nextPollDelayMs('error', n, TIMING, mid));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('jitters errors ±20 % and always retries within 10 s of an outage’s end', () => {
    for (const r of [0, 0.25, 0.999]) {
      for (let n = 1; n < 30; n++) {
        const d = nextPollDelayMs('error', n, TIMING, () => r);
        expect(d).toBeLessThan(10_000);
        expect(d).toBeGreaterThan(0);
      }
    }
    expect(nextPollDelayMs('error', 10, TIMING, () => 0)).toBe(6400);
    expect(nextPollDelayMs('error', 10, TIMING, () => 0.999)).toBeGreaterThan(9500);
  });

  it('asks for no more jobs than free slots, within the cap', () => {
    expect(jobsToRequest(0, 100)).toBe(0);
    expect(jobsToRequest(-3, 100)).toBe(0);
    expect(jobsToRequest(7, 100)).toBe(7);
    expect(jobsToRequest(500, 100)).toBe(100);
  });
});
