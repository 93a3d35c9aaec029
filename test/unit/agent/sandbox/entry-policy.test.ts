import { describe, expect, it } from 'vitest';
import {
  checkEntryPath,
  type EntryDecision,
  type EntryHeader,
  type EntryLimits,
  EntryPolicy,
  quotePath,
  stagingFileMode,
} from '../../../../agent/sandbox/entry-policy.js';

const limits: EntryLimits = {
  maxEntries: 100,
  maxDepth: 8,
  maxPathBytes: 120,
  maxComponentBytes: 20,
  maxExtractedBytes: 1000,
};

const file = (path: string, extra: Partial<EntryHeader> = {}): EntryHeader => ({
  path,
  type: 'File',
  size: 10,
  mode: 0o644,
  ...extra,
});
const dir = (path: string): EntryHeader => ({ path, type: 'Directory', size: 0, mode: 0o755 });

function rejection(decision: EntryDecision): { code: string; message: string } {
  if (decision.action !== 'reject') throw new Error(`expected a rejection, got ${decision.action}`);
  return { code: decision.code, message: decision.message };
}

function decideAll(headers: EntryHeader[], policyLimits = limits): EntryDecision[] {
  const policy = new EntryPolicy(policyLimits);
  return headers.map((h) => policy.decide(h));
}

describe('entry paths', () => {
  it.each([
    ['/tmp/evil', 'is an absolute path'],
    ['////home/u/.bashrc', 'is an absolute path'],
    ['../x', 'leaves the sandbox'],
    ['a/../../x', 'leaves the sandbox'],
    ['x/..', 'leaves the sandbox'],
    ['d\\..\\..\\x', 'contains a backslash'],
    ['\\\\server\\share\\x', 'contains a backslash'],
    ['C:\\x', 'contains a backslash'],
    ['C:../x', 'starts with a drive letter'],
    ['a\0b', 'contains a NUL byte'],
  ])('%j is unsafe: %s', (path, why) => {
    const checked = checkEntryPath(path, limits);
    expect(checked).toMatchObject({ ok: false, code: 'UNSAFE_ARCHIVE' });
    expect(checked.ok ? '' : checked.message).toBe(`entry ${JSON.stringify(path)} ${why}`);
  });

  it('drops "." and empty components', () => {
    expect(checkEntryPath('./a//b/./c/', limits)).toEqual({ ok: true, parts: ['a', 'b', 'c'] });
    expect(checkEntryPath('./', limits)).toEqual({ ok: true, parts: [] });
  });

  it('caps depth, component and path length', () => {
    expect(checkEntryPath(Array(9).fill('a').join('/'), limits)).toMatchObject({
      ok: false,
      code: 'ARCHIVE_LIMITS',
      message: expect.stringContaining('nested 9 levels deep; the limit is 8'),
    });
    expect(checkEntryPath(Array(8).fill('a').join('/'), limits).ok).toBe(true);
    expect(checkEntryPath('x'.repeat(21), limits)).toMatchObject({
      code: 'ARCHIVE_LIMITS',
      message: expect.stringContaining('name component longer than 20 bytes'),
    });
    // UTF-8 bytes count, not characters: 7 × 3 bytes = 21
    expect(checkEntryPath('€'.repeat(7), limits)).toMatchObject({ code: 'ARCHIVE_LIMITS' });
    expect(checkEntryPath(Array(7).fill('y'.repeat(18)).join('/'), limits)).toMatchObject({
      code: 'ARCHIVE_LIMITS',
      message: expect.stringContaining('path longer than 120 bytes'),
    });
  });

  it('quotes long and odd paths readably in messages', () => {
    expect(quotePath('a\nb')).toBe('"a\\nb"');
    const long = quotePath('x'.repeat(4096));
    expect(long.length).toBeLessThan(110);
    expect(long).toContain('(4096 bytes)');
  });
});

describe('EntryPolicy', () => {
  it('allows files and directories and masks modes', () => {
    const [d, f, x, s] = decideAll([
      dir('pkg/'),
      file('pkg/a.py', { mode: 0o4777 }),
      file('pkg/run', { mode: 0o6755 }),
      file('pkg/b', { mode: 0o1666 }),
    ]);
    expect(d).toEqual({ action: 'dir', path: 'pkg' });
    expect(f).toEqual({ action: 'file', path: 'pkg/a.py', mode: 0o755, size: 10 });
    expect(x).toEqual({ action: 'file', path: 'pkg/run', mode: 0o755, size: 10 });
    expect(s).toEqual({ action: 'file', path: 'pkg/b', mode: 0o644, size: 10 });
    expect(stagingFileMode(undefined)).toBe(0o644);
  });

  it('treats OldFile and ContiguousFile as regular files and skips the root', () => {
    const decisions = decideAll([
      dir('./'),
      file('a', { type: 'OldFile' }),
      file('b', { type: 'ContiguousFile' }),
    ]);
    expect(decisions.map((d) => d.action)).toEqual(['skip', 'file', 'file']);
    expect(rejection(decideAll([file('./')])[0] as EntryDecision).message).toContain(
      'without a name',
    );
  });

  it.each([
    ['SymbolicLink', 'is a symbolic link'],
    ['Link', 'is a hard link'],
    ['CharacterDevice', 'is a character device'],
    ['BlockDevice', 'is a block device'],
    ['FIFO', 'is a FIFO'],
    ['GNUDumpDir', 'is a GNU dump directory'],
    ['Unsupported', 'has unsupported type Unsupported'],
  ])('rejects %s entries by name', (type, words) => {
    const [decision] = decideAll([{ path: 'lib/l', type, size: 0 }]);
    expect(rejection(decision as EntryDecision)).toEqual({
      code: 'UNSAFE_ARCHIVE',
      message: `sandbox rejected: entry "lib/l" ${words}; only regular files and directories are allowed`,
    });
  });

  it('rejects the same path twice and type changes (T14)', () => {
    const twice = decideAll([file('a'), file('./a')]);
    expect(rejection(twice[1] as EntryDecision).message).toBe(
      'sandbox rejected: entry "./a" appears more than once',
    );
    const fileThenDir = decideAll([file('a'), dir('a')]);
    expect(rejection(fileThenDir[1] as EntryDecision).message).toContain(
      'as a regular file and as a directory',
    );
    const dirThenFile = decideAll([dir('a'), file('a')]);
    expect(rejection(dirThenFile[1] as EntryDecision).message).toContain(
      'as a directory and as a regular file',
    );
    // a parent created implicitly counts as a directory
    const implicit = decideAll([file('a/b'), file('a')]);
    expect(rejection(implicit[1] as EntryDecision).code).toBe('UNSAFE_ARCHIVE');
    const inside = decideAll([file('a'), file('a/b')]);
    expect(rejection(inside[1] as EntryDecision).message).toContain(
      'is inside "a", which is a regular file',
    );
    // a directory listed twice is harmless
    expect(decideAll([dir('a'), dir('a/'), file('a/b')]).map((d) => d.action)).toEqual([
      'dir',
      'dir',
      'file',
    ]);
  });

  it('rejects names that differ only in Unicode normalisation', () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const decisions = decideAll([file(`${nfc}/x`), file(`${nfd}/y`)]);
    expect(rejection(decisions[1] as EntryDecision).message).toContain(
      'different Unicode normalisations',
    );
    // case twins are different files on Linux
    expect(decideAll([file('README'), file('readme')]).map((d) => d.action)).toEqual([
      'file',
      'file',
    ]);
  });

  it('caps the declared bytes and names the entry', () => {
    const decisions = decideAll([file('a', { size: 600 }), file('b', { size: 401 })]);
    expect(decisions[0]?.action).toBe('file');
    expect(rejection(decisions[1] as EntryDecision)).toEqual({
      code: 'ARCHIVE_LIMITS',
      message: 'sandbox too large: more than 1000 bytes extracted (entry "b" declares 401 bytes)',
    });
    const huge = decideAll([file('big', { size: 50 * 1024 ** 3 })]);
    expect(rejection(huge[0] as EntryDecision).code).toBe('ARCHIVE_LIMITS');
  });

  it('caps the number of entries', () => {
    const policy = new EntryPolicy({ ...limits, maxEntries: 3 });
    expect([1, 2, 3].map((i) => policy.decide(file(`f${i}`)).action)).toEqual([
      'file',
      'file',
      'file',
    ]);
    expect(rejection(policy.decide(file('f4')))).toEqual({
      code: 'ARCHIVE_LIMITS',
      message: 'sandbox too large: more than 3 entries',
    });
    expect(policy.entries).toBe(4);
  });
});
