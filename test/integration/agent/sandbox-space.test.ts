/**
 * Disk faults and the unprivileged case (RELIABILITY §7 test 46): a sandbox root on a full
 * filesystem (bytes) and on one out of inodes, each a private tmpfs mounted in a user+mount
 * namespace so the test needs no privileges and leaves no mount behind; and, when the suite runs
 * as root, the whole install/evict cycle as an ordinary user (read-only trees must be made
 * writable before they can be removed).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureCode } from '../../../shared/errors.js';
import { startInstallChild } from '../../fixtures/sandbox/child-process.js';
import { type SandboxEnv, sandboxEnv } from '../../fixtures/sandbox/sandbox-env.js';
import { tgz } from '../../fixtures/sandbox/tar-builder.js';

const canUnshare = spawnSync('unshare', ['-Urm', 'true']).status === 0;
const isRoot = process.getuid?.() === 0;
const canDropPrivileges = isRoot && spawnSync('setpriv', ['--version']).status === 0;

let env: SandboxEnv;

beforeEach(async () => {
  env = await sandboxEnv();
});

afterEach(async () => {
  await env[Symbol.asyncDispose]();
});

describe('a full disk', () => {
  it.skipIf(!canUnshare)(
    'fails with NO_SPACE, leaves no staging, and the next install on another volume works',
    async () => {
      const bytesFull = join(env.base, 'full');
      const inodesFull = join(env.base, 'no-inodes');
      const other = join(env.base, 'other');
      for (const dir of [bytesFull, inodesFull]) mkdirSync(dir);
      const big = env.server.serve(
        '/cache/big.tgz',
        tgz([{ name: 'big.bin', data: randomBytes(6 * 1024 * 1024) }]),
      );
      const many = env.server.serve(
        '/cache/many.tgz',
        tgz(Array.from({ length: 200 }, (_, i) => ({ name: `pkg/m${i}.py`, data: 'x = 1\n' }))),
      );
      const fine = env.server.serve(
        '/cache/fine.tgz',
        tgz([{ name: 'ok.py', data: 'print(1)\n' }]),
      );
      const mounts = `mount -t tmpfs -o size=3m tmpfs ${bytesFull} && mount -t tmpfs -o nr_inodes=64 tmpfs ${inodesFull} && exec "$@"`;
      const child = startInstallChild(
        {
          installs: [
            { root: join(bytesFull, 'sandbox'), url: big },
            { root: join(inodesFull, 'sandbox'), url: many },
            { root: join(other, 'sandbox'), url: fine },
          ],
          options: { fetchRetries: 0 },
        },
        ['unshare', '-Urm', 'sh', '-c', mounts, 'sh'],
      );
      const [bytes, inodes, next] = await child.results;
      expect(bytes).toMatchObject({
        ok: false,
        code: FailureCode.NO_SPACE,
        message: 'no space left on device while extracting entry "big.bin" (ENOSPC)',
        store: [],
        staging: [],
      });
      expect(inodes).toMatchObject({
        ok: false,
        code: FailureCode.NO_SPACE,
        store: [],
        staging: [],
      });
      expect(next).toMatchObject({ ok: true, staging: [] });
    },
  );
});

describe('as an ordinary user', () => {
  it.skipIf(!canDropPrivileges)(
    'installs, evicts read-only entries and cleans up without root',
    async () => {
      const home = mkdtempSync(join(tmpdir(), 'pgc-sandbox-nobody-'));
      chownSync(home, 65534, 65534);
      try {
        const urls = ['a', 'b', 'c'].map((n) =>
          env.server.serve(
            `/cache/${n}.tgz`,
            tgz([
              { name: `${n}/`, type: '5' },
              { name: `${n}/data.bin`, data: randomBytes(100 * 1024) },
            ]),
          ),
        );
        const root = join(home, 'sandbox');
        const child = startInstallChild(
          { installs: urls.map((url) => ({ root, url })), options: { quotaBytes: 150 * 1024 } },
          ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
        );
        const results = await child.results;
        expect(results.map((r) => r.ok)).toEqual([true, true, true]);
        // each new entry evicted the previous one, which was read-only and owned by nobody
        expect(results.map((r) => r.store.length)).toEqual([1, 1, 1]);
        expect(results[2]?.store).toEqual([(results[2] as { digest: string }).digest]);
        expect(results.every((r) => r.staging.length === 0)).toBe(true);
        expect(child.logs().filter((l) => l.msg === 'sandbox evicted')).toHaveLength(2);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  );
});
