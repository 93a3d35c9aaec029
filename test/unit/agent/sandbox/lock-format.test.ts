import { describe, expect, it } from 'vitest';
import { parseStartTime } from '../../../../agent/sandbox/proc-stat.js';
import { formatLock, parseLock } from '../../../../agent/sandbox/store-lock.js';

describe('lock file content', () => {
  it('round-trips pid, start time and nonce', () => {
    const holder = { pid: 4242, startTime: '123456', nonce: 'ab12' };
    expect(parseLock(formatLock(holder))).toEqual(holder);
  });
  it('treats anything else as corrupt', () => {
    expect(parseLock('')).toBeUndefined();
    expect(parseLock('4242')).toBeUndefined();
    expect(parseLock('x 1 ab\n')).toBeUndefined();
  });
});

describe('/proc/<pid>/stat start time', () => {
  // Field 22 (starttime); the command name may contain spaces and parentheses.
  const fields = (comm: string) =>
    `77 (${comm}) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200 18446744073709551615`;
  it('reads field 22', () => {
    expect(parseStartTime(fields('node'))).toBe('987654');
  });
  it('is not fooled by a command name with ") (" in it', () => {
    expect(parseStartTime(fields('evil) S 1 2 3 (x'))).toBe('987654');
  });
  it('returns undefined for garbage', () => {
    expect(parseStartTime('nonsense')).toBeUndefined();
    expect(parseStartTime('1 (x) S 1')).toBeUndefined();
  });
});
