/** Temporary directories that remove themselves (kept, for reading logs, with PGC_KEEP_TEST_DIRS=1). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir extends Disposable {
  path: string;
}

export function tempDir(prefix = 'pgc-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const keep = process.env.PGC_KEEP_TEST_DIRS === '1';
  return {
    path,
    [Symbol.dispose]: () => (keep ? undefined : rmSync(path, { recursive: true, force: true })),
  };
}
