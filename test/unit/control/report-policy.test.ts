import { describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../../control/outbox.js';
import { PandaRejectedError } from '../../../control/panda/errors.js';
import {
  callFailureDelayMs,
  judgeReply,
  nextReadyAt,
  pickBatch,
  reportPolicy,
} from '../../../control/report-policy.js';
import { FailureCode, PgcError } from '../../../shared/errors.js';

const policy = reportPolicy(100, 60_000);

function entry(id: string, patch: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    id,
    version: 1,
    update: { job_id: Number(id), job_status: 'running' },
    final: false,
    enqueuedAtMs: Number(id),
    attempts: 0,
    notBeforeMs: 0,
    ...patch,
  };
}

describe('pickBatch', () => {
  it('takes ready entries oldest first, at most the batch size', () => {
    const entries = Array.from({ length: 250 }, (_, i) => entry(String(250 - i)));
    const batch = pickBatch(entries, 1000, 100);
    expect(batch).toHaveLength(100);
    expect(batch[0]?.id).toBe('1');
    expect(batch[99]?.id).toBe('100');
  });

  it('leaves entries that wait for a retry, and says when the next one is ready', () => {
    const entries = [
      entry('1', { notBeforeMs: 5000 }),
      entry('2'),
      entry('3', { notBeforeMs: 3000 }),
    ];
    expect(pickBatch(entries, 1000, 100).map((e) => e.id)).toEqual(['2']);
    expect(nextReadyAt(entries, 1000)).toBe(3000);
    expect(nextReadyAt([entry('2')], 1000)).toBeUndefined();
  });
});

describe('judgeReply', () => {
  it('counts every StatusCode 0 reply as delivered, alreadydone included', () => {
    expect(judgeReply(entry('1'), { statusCode: 0, command: null }, policy).type).toBe('delivered');
    expect(
      judgeReply(entry('1', { final: true }), { statusCode: 0, command: 'alreadydone' }, policy),
    ).toEqual({
      type: 'delivered',
      kill: false,
      command: 'alreadydone',
    });
  });

  it('turns tobekilled for a job still going into a kill; for a final update it only means done', () => {
    expect(
      judgeReply(entry('1'), { statusCode: 0, command: 'debug,tobekilled' }, policy),
    ).toMatchObject({ kill: true });
    expect(
      judgeReply(entry('1', { final: true }), { statusCode: 0, command: 'tobekilled' }, policy),
    ).toMatchObject({
      type: 'delivered',
      kill: false,
    });
  });

  it('retries transient refusals with backoff and drops permanent ones', () => {
    const transient = new PgcError(FailureCode.UNAVAILABLE, 'StatusCode 10', { retryable: true });
    const first = judgeReply(entry('1'), transient, policy, () => 0.5);
    const later = judgeReply(entry('1', { attempts: 4 }), transient, policy, () => 0.5);
    expect(first).toEqual({ type: 'retry', delayMs: 500 });
    expect(later).toEqual({ type: 'retry', delayMs: 8000 });
    const refused = judgeReply(
      entry('1'),
      new PandaRejectedError('pilot/update_jobs_bulk', 'Argument error'),
      policy,
    );
    expect(refused.type).toBe('refused');
  });

  it('backs off failed calls up to the cap', () => {
    expect(callFailureDelayMs(1, policy, () => 0.5)).toBe(500);
    expect(callFailureDelayMs(3, policy, () => 0.5)).toBe(2000);
    expect(callFailureDelayMs(30, policy, () => 0.5)).toBe(60_000);
  });
});
