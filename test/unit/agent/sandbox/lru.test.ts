import { describe, expect, it } from 'vitest';
import { chooseEvictions, type StoreEntryInfo } from '../../../../agent/sandbox/lru.js';

const entry = (digest: string, sizeBytes: number, lastUsedMs: number): StoreEntryInfo => ({
  digest,
  sizeBytes,
  lastUsedMs,
});

describe('chooseEvictions', () => {
  const entries = [entry('new', 40, 300), entry('old', 40, 100), entry('mid', 40, 200)];

  it('evicts least recently used first, only until the store is under quota', () => {
    expect(chooseEvictions(entries, 80, () => false)).toEqual({
      victims: ['old'],
      totalBytes: 120,
      remainingBytes: 80,
      overQuota: false,
    });
    expect(chooseEvictions(entries, 39, () => false).victims).toEqual(['old', 'mid', 'new']);
  });

  it('evicts nothing when under quota', () => {
    expect(chooseEvictions(entries, 120, () => false).victims).toEqual([]);
    expect(chooseEvictions([], 0, () => false)).toMatchObject({ victims: [], overQuota: false });
  });

  it('never chooses a referenced entry, even if that leaves the store over quota', () => {
    const plan = chooseEvictions(entries, 10, (d) => d === 'old' || d === 'new');
    expect(plan.victims).toEqual(['mid']);
    expect(plan).toMatchObject({ remainingBytes: 80, overQuota: true });
  });

  it('breaks ties by digest so the choice is stable', () => {
    const tied = [entry('b', 10, 5), entry('a', 10, 5)];
    expect(chooseEvictions(tied, 10, () => false).victims).toEqual(['a']);
  });
});
