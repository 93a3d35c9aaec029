import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DURABLE, openDb, readPrefix } from '../../shared/db.js';
import { FailureCode, PgcError } from '../../shared/errors.js';
import { tempDir } from '../harness/temp.js';

interface Rec {
  state: string;
  pid?: number;
}

describe('LevelDB helpers', () => {
  it('keep synced data across close and reopen', async () => {
    using dir = tempDir();
    const path = join(dir.path, 'state');
    const db = await openDb<Rec>(path);
    await db.put('job/0001', { state: 'running', pid: 42 }, DURABLE);
    await db.batch(
      [
        { type: 'put', key: 'job/0002', value: { state: 'accepted' } },
        { type: 'put', key: 'other/1', value: { state: 'x' } },
        { type: 'del', key: 'job/0001' },
      ],
      DURABLE,
    );
    await db.close();

    const again = await openDb<Rec>(path);
    try {
      expect(await again.get('job/0001')).toBeUndefined();
      expect(await readPrefix(again, 'job/')).toEqual([['job/0002', { state: 'accepted' }]]);
    } finally {
      await again.close();
    }
  });

  it('refuses a second opener of the same state directory with a clear message', async () => {
    using dir = tempDir();
    const db = await openDb(dir.path);
    try {
      const err = await openDb(dir.path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PgcError);
      expect((err as PgcError).code).toBe(FailureCode.FAILED_PRECONDITION);
      expect((err as PgcError).message).toMatch(/in use by another process/);
    } finally {
      await db.close();
    }
  });
});
