import { describe, expect, it } from 'vitest';
import { wantsKill } from '../../../control/status-poller.js';

describe('job/get_status replies', () => {
  it('ask for a kill on tobekilled, alone or among other commands', () => {
    expect(wantsKill({ status: 'running', command: 'tobekilled' })).toBe(true);
    expect(wantsKill({ status: 'running', command: 'debug,tobekilled' })).toBe(true);
    expect(wantsKill({ status: 'unknown', command: 'tobekilled' })).toBe(true);
  });

  it('ask for a kill when PanDA ended the job on its own', () => {
    expect(wantsKill({ status: 'failed', command: null })).toBe(true);
    expect(wantsKill({ status: 'cancelled', command: null })).toBe(true);
    expect(wantsKill({ status: 'closed', command: null })).toBe(true);
  });

  it('leave live jobs alone', () => {
    for (const status of ['sent', 'starting', 'running', 'holding', 'transferring'])
      expect(wantsKill({ status, command: null })).toBe(false);
    expect(wantsKill({ status: 'running', command: 'debug' })).toBe(false);
  });
});
