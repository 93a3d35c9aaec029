/**
 * Every malicious tarball shape of RELIABILITY §1.5 that applies on Linux (T1–T25; T10, T19, T21
 * and T22 are not in the table), and §7 tests 6 and 9–15, against a real SandboxManager and its
 * extraction worker. For each: the install rejects with the right code and a message naming the
 * entry; the canary outside the sandbox is unchanged (content and link count); nothing appeared
 * or changed outside the sandbox root; staging, store and locks are empty; the build step never
 * ran; and the test process (the "agent") is fine — the last test installs a good archive with
 * the same manager.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { SandboxManager } from '../../../agent/sandbox/sandbox-manager.js';
import { startWorker } from '../../../agent/sandbox/worker-client.js';
import { FailureCode, PgcError } from '../../../shared/errors.js';
import { type SandboxEnv, sandboxEnv } from '../../fixtures/sandbox/sandbox-env.js';
import {
  type TarEntrySpec,
  tarArchive,
  tarEntry,
  tarHeader,
  tgz,
} from '../../fixtures/sandbox/tar-builder.js';
import { waitFor } from '../../harness/wait.js';

let env: SandboxEnv;
let manager: SandboxManager;
/** A second manager with small caps, for the size shapes (T17, T18). */
let small: SandboxManager;
const tmpEvil = `/tmp/pgc-evil-${process.pid}-${randomBytes(4).toString('hex')}`;
/** Depth of the extraction target below the base directory (root/staging/<x>/entry/tree). */
const UP = '../../../../../';

const MiB = 1024 * 1024;

beforeAll(async () => {
  env = await sandboxEnv();
  const build = { command: `echo ran >> ${join(env.base, 'build-ran')}` };
  manager = await env.open({ build, fetchRetries: 0 });
  small = await env.open({ build, fetchRetries: 0, maxExtractedBytes: MiB, maxEntries: 100 });
});

afterAll(async () => {
  await env?.[Symbol.asyncDispose]();
  expect(existsSync(tmpEvil)).toBe(false);
});

const file = (name: string, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({
  name,
  data: `content of ${name}\n`,
  ...extra,
});
const dir = (name: string): TarEntrySpec => ({ name, type: '5' });
const symlink = (name: string, linkname: string): TarEntrySpec => ({ name, type: '2', linkname });
const hardlink = (name: string, linkname: string): TarEntrySpec => ({ name, type: '1', linkname });

interface Shape {
  id: string;
  /** The archive body as served; built lazily (it may need the test's paths). */
  body: () => Buffer;
  code: FailureCode;
  /** Must appear in the message (usually the entry name, quoted). */
  says: string;
  smallCaps?: boolean;
}

const unsafe = (id: string, entries: () => TarEntrySpec[], says: string, gzip = true): Shape => ({
  id,
  body: () => (gzip ? tgz(entries()) : tarArchive(entries())),
  code: FailureCode.UNSAFE_ARCHIVE,
  says,
});

const ONLY = 'only regular files and directories are allowed';

const shapes: Shape[] = [
  // T1/T2: absolute and rooted paths (CVE-2021-32804, CVE-2021-37713)
  unsafe(
    'T1 absolute path',
    () => [file('ok.txt'), file(tmpEvil)],
    `entry "${tmpEvil}" is an absolute path`,
  ),
  unsafe('T1 absolute path at the canary', () => [file(env.canary)], 'is an absolute path'),
  unsafe(
    'T2 ////-rooted path',
    () => [file(`////${env.base.slice(1)}/pwned`)],
    'is an absolute path',
    false,
  ),
  unsafe('T2 UNC path', () => [file('\\\\server\\share\\x')], 'contains a backslash'),
  unsafe('T2 drive path', () => [file('C:\\x')], 'contains a backslash'),
  unsafe('T2 drive-relative path', () => [file('C:../x')], 'starts with a drive letter'),
  // T3/T4: dot-dot and backslash traversal (CVE-2021-37701)
  unsafe('T3 ../x', () => [file('../x')], 'entry "../x" leaves the sandbox'),
  unsafe('T3 a/../../x', () => [file('a/../../x')], 'entry "a/../../x" leaves the sandbox'),
  unsafe('T3 x/..', () => [dir('x/..')], 'entry "x/.." leaves the sandbox'),
  unsafe(
    'T3 climbing to the canary',
    () => [file(`${UP}canary.txt`, { data: 'pwned' })],
    'leaves the sandbox',
  ),
  unsafe(
    'T3 .. hidden in a PAX path',
    () => [file('innocent', { pax: { path: `${UP}outside/pwn` } })],
    'leaves the sandbox',
  ),
  unsafe('T4 backslash traversal', () => [file('d\\..\\..\\x')], 'contains a backslash'),
  // T5/T6/T7: symlink then file, dir cache poisoning, normalisation twins (CVE-2021-32803/37712, CVE-2026-23950)
  unsafe(
    'T5 symlink then file',
    () => [symlink('l', env.outsideDir), file('l/pwn')],
    `entry "l" is a symbolic link; ${ONLY}`,
  ),
  unsafe(
    'T6 dir, then symlink of the same name, then file',
    () => [dir('d'), symlink('d', env.outsideDir), file('d/pwn')],
    'entry "d" is a symbolic link',
  ),
  unsafe(
    'T7 NFC dir, NFD symlink',
    () => [dir('caf\u00e9'), symlink('cafe\u0301', env.outsideDir), file('cafe\u0301/pwn')],
    'is a symbolic link',
  ),
  unsafe(
    'T7 ß/ss twins',
    () => [dir('stra\u00dfe'), symlink('strasse', env.outsideDir), file('strasse/pwn')],
    'entry "strasse" is a symbolic link',
  ),
  unsafe(
    'T7 case twins',
    () => [dir('Lib'), symlink('lib', env.outsideDir), file('lib/pwn')],
    'entry "lib" is a symbolic link',
  ),
  unsafe(
    'T7 NFC/NFD files without links',
    () => [file('caf\u00e9/x'), file('cafe\u0301/y')],
    'different Unicode normalisations',
  ),
  // T8/T9: symlinks with absolute or escaping targets (CVE-2026-23745)
  unsafe(
    'T8 absolute symlink target',
    () => [symlink('lib/l', '/etc/shadow')],
    `entry "lib/l" is a symbolic link; ${ONLY}`,
  ),
  unsafe(
    'T9 escaping symlink target',
    () => [symlink('l', '../../..')],
    'entry "l" is a symbolic link',
  ),
  unsafe(
    'T9 symlink chain (CVE-2026-26960)',
    () => [
      dir('a/b/c'),
      symlink('a/b/c/up', '../..'),
      symlink('a/b/escape', 'c/up/../..'),
      hardlink('exfil', 'a/b/escape/canary.txt'),
    ],
    'entry "a/b/c/up" is a symbolic link',
  ),
  // T11–T13: hard links (CVE-2026-23745/24842/29786)
  unsafe(
    'T11 hardlink to /etc/passwd',
    () => [hardlink('h', '/etc/passwd')],
    `entry "h" is a hard link; ${ONLY}`,
  ),
  unsafe(
    'T11 hardlink to the canary',
    () => [hardlink('h', env.canary)],
    'entry "h" is a hard link',
  ),
  unsafe(
    'T12 hardlink with ..',
    () => [hardlink('h', `${UP}canary.txt`)],
    'entry "h" is a hard link',
  ),
  unsafe(
    'T12 drive-relative hardlink',
    () => [hardlink('h', 'C:../x')],
    'entry "h" is a hard link',
  ),
  unsafe(
    'T13 hardlink before its target',
    () => [hardlink('h', 'later'), file('later')],
    'entry "h" is a hard link',
  ),
  unsafe('T13 self-referential hardlink', () => [hardlink('h', 'h')], 'entry "h" is a hard link'),
  // T14: the same path twice
  unsafe(
    'T14 file then symlink',
    () => [file('x'), symlink('x', env.canary)],
    'entry "x" is a symbolic link',
  ),
  unsafe(
    'T14 dir then file',
    () => [dir('x'), file('x')],
    'entry "x" appears more than once, as a directory and as a regular file',
  ),
  unsafe(
    'T14 file then dir',
    () => [file('x'), dir('x')],
    'entry "x" appears more than once, as a regular file and as a directory',
  ),
  unsafe(
    'T14 identical file twice',
    () => [file('x'), file('./x')],
    'entry "./x" appears more than once',
  ),
  unsafe(
    'T14 file inside a file',
    () => [file('x'), file('x/y')],
    'entry "x/y" is inside "x", which is a regular file',
  ),
  // T15: devices and FIFOs
  unsafe(
    'T15 character device',
    () => [{ name: 'null', type: '3', devmajor: 1, devminor: 3 }],
    `entry "null" is a character device; ${ONLY}`,
  ),
  unsafe(
    'T15 block device',
    () => [{ name: 'sda', type: '4', devmajor: 8, devminor: 0 }],
    'entry "sda" is a block device',
  ),
  unsafe('T15 FIFO', () => [{ name: 'pipe', type: '6' }], 'entry "pipe" is a FIFO'),
  unsafe(
    'unknown entry type',
    () => [{ name: 'weird', type: 'Z' }],
    'entry "weird" has unsupported type',
  ),
  unsafe(
    'GNU sparse file',
    () => [{ name: 'sparse', type: 'S', data: 'x' }],
    'entry "sparse" is a sparse file',
  ),
  // T25: an entrypoint that is a link to /bin/sh or into another sandbox
  unsafe(
    'T25 entrypoint linked to /bin/sh',
    () => [file('lib/x.py'), symlink('run.sh', '/bin/sh')],
    'entry "run.sh" is a symbolic link',
  ),
  unsafe(
    'T25 entrypoint linked into another sandbox',
    () => [symlink('run.sh', `../../../store/${'a'.repeat(64)}/tree/run.sh`)],
    'entry "run.sh" is a symbolic link',
  ),
  // T17/T18: bombs and huge declared sizes
  {
    id: 'T17 gzip bomb (10 MB → 10 GB) declaring one huge file',
    body: () =>
      Buffer.concat([
        gzipSync(tarHeader({ name: 'zeros', size: 10 * 1024 ** 3 })),
        ...Array(640).fill(zeroMember()),
      ]),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'sandbox too large: more than 4294967296 bytes extracted (entry "zeros" declares 10737418240 bytes)',
  },
  {
    id: 'T17 gzip bomb after the end-of-archive marker',
    body: () =>
      Buffer.concat([gzipSync(tarArchive([file('small.txt')])), ...Array(64).fill(zeroMember())]),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'sandbox too large: more than',
    smallCaps: true,
  },
  {
    id: 'T18 uncompressed tar declaring a 50 GB file',
    body: () => tarHeader({ name: 'huge.bin', size: 50 * 1024 ** 3 }),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'entry "huge.bin" declares 53687091200 bytes',
  },
  {
    id: 'T18 many files, each within the cap, together over it',
    body: () =>
      tarArchive(
        [0, 1, 2, 3, 4].map((i) => file(`part${i}.bin`, { data: Buffer.alloc(300 * 1024, i) })),
      ),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'sandbox too large: more than 1048576 bytes extracted (entry "part3.bin" declares 307200 bytes)',
    smallCaps: true,
  },
  {
    id: 'T18 more entries than allowed',
    body: () => tgz(Array.from({ length: 101 }, (_, i) => file(`f${i}`))),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'sandbox too large: more than 100 entries',
    smallCaps: true,
  },
  // T20: depth and length (CVE-2024-28863)
  {
    id: 'T20 depth 5,000',
    body: () => tgz([file('x', { pax: { path: `${'a/'.repeat(5000)}f` } })]),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'is nested 5001 levels deep; the limit is 64',
  },
  {
    id: 'T20 4,096-byte path',
    body: () =>
      tgz([file('x', { pax: { path: `${`${'p'.repeat(199)}/`.repeat(20)}${'q'.repeat(95)}` } })]),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'has a path longer than 1024 bytes',
  },
  {
    id: 'T20 300-byte component',
    body: () => tgz([file('x', { gnuLongName: true, name: `dir/${'c'.repeat(300)}` })]),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'has a name component longer than 255 bytes',
  },
  // T24: oversized meta entries
  {
    id: 'T24 oversized PAX header',
    body: () => tgz([file('x', { pax: { comment: 'z'.repeat(100 * 1024) } })]),
    code: FailureCode.ARCHIVE_LIMITS,
    says: 'metadata entry "PaxHeader/x" (ExtendedHeader) has',
  },
  {
    id: 'T24 oversized GNU long name',
    body: () => tgz([file(`${'n/'.repeat(600 * 1024)}x`, { gnuLongName: true })]),
    code: FailureCode.ARCHIVE_LIMITS,
    says: '(NextFileHasLongPath) has',
  },
  // T23 / test 6: not an archive
  {
    id: 'T23 zip',
    body: () => zipFile(),
    code: FailureCode.BAD_ARCHIVE,
    says: 'sandbox is not a gzip or tar archive',
  },
  {
    id: 'T23 ELF',
    body: () => readFileSync(process.execPath).subarray(0, 64 * 1024),
    code: FailureCode.BAD_ARCHIVE,
    says: 'sandbox is not a gzip or tar archive',
  },
  {
    id: 'T23 zero bytes',
    body: () => Buffer.alloc(0),
    code: FailureCode.BAD_ARCHIVE,
    says: 'sandbox is not a gzip or tar archive',
  },
  {
    id: 'T23 random bytes',
    body: () => Buffer.concat([Buffer.from('random'), randomBytes(100_000)]),
    code: FailureCode.BAD_ARCHIVE,
    says: 'sandbox is not a gzip or tar archive',
  },
  {
    id: 'T23 gzip of random bytes',
    body: () => gzipSync(randomBytes(100_000)),
    code: FailureCode.BAD_ARCHIVE,
    says: 'sandbox is not a gzip or tar archive',
  },
  {
    id: 'T23 corrupt gzip stream',
    body: () => corrupted(goodTgz()),
    code: FailureCode.BAD_ARCHIVE,
    says: 'corrupt',
  },
  {
    id: 'T23 truncated gzip stream',
    body: () => goodTgz().subarray(0, 3000),
    code: FailureCode.BAD_ARCHIVE,
    says: 'sandbox archive is corrupt (gzip: unexpected end of file)',
  },
  {
    id: 'T23 truncated tar',
    body: () => tarArchive([file('big', { data: Buffer.alloc(4096, 1) })]).subarray(0, 2048),
    code: FailureCode.BAD_ARCHIVE,
    says: 'sandbox archive is truncated or corrupt',
  },
  {
    id: 'T23 corrupt header checksum mid-archive',
    body: () => badChecksumTar(),
    code: FailureCode.BAD_ARCHIVE,
    says: 'checksum failure',
  },
  {
    id: 'T23 twice-gzipped',
    body: () => gzipSync(goodTgz()),
    code: FailureCode.BAD_ARCHIVE,
    says: 'compressed twice',
  },
  {
    id: 'T23 an empty tar',
    body: () => Buffer.alloc(10240),
    code: FailureCode.BAD_ARCHIVE,
    says: 'sandbox archive has no files',
  },
];

let zeros: Buffer | undefined;
/** One gzip member of 16 MiB of zeros (16 KB); repeated, it makes a bomb without compressing 10 GB. */
function zeroMember(): Buffer {
  zeros ??= gzipSync(Buffer.alloc(16 * MiB), { level: 9 });
  return zeros;
}

function goodTgz(): Buffer {
  return tgz(
    Array.from({ length: 20 }, (_, i) =>
      file(`pkg/m${i}.py`, { data: randomBytes(2000).toString('hex') }),
    ),
  );
}

/** Flips bytes in the second half of the deflate stream: the first entries still decode. */
function corrupted(archive: Buffer): Buffer {
  const copy = Buffer.from(archive);
  for (let i = copy.length >> 1; i < copy.length - 100; i += 97)
    copy[i] = (copy[i] as number) ^ 0xa5;
  return copy;
}

function badChecksumTar(): Buffer {
  const second = tarEntry(file('b.txt'));
  second[148] = 0x37; // wrong checksum digit
  return Buffer.concat([tarEntry(file('a.txt')), second, Buffer.alloc(1024)]);
}

function zipFile(): Buffer {
  return execFileSync('python3', [
    '-c',
    "import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,'w')\nz.writestr('a.txt','hello')\nz.close()\nsys.stdout.buffer.write(b.getvalue())",
  ]);
}

/**
 * Records every inotify event outside the sandbox root while an attack runs, so a file that was
 * created and removed again still shows (RELIABILITY §7 test 10). `settle()` writes a marker and
 * waits for its event: inotify keeps order, so every earlier event has been seen by then.
 */
function watchOutside(): { events: string[]; settle: () => Promise<void>; close: () => void } {
  const events: string[] = [];
  let marks = 0;
  const seen = new Set<string>();
  const note = (where: string) => (event: string, name: string | Buffer | null) => {
    const file = String(name);
    if (file.startsWith('.settle-')) return void seen.add(file);
    if (where === 'tmp' && file !== basename(tmpEvil)) return;
    if (where === 'base' && file === 'sandbox-root') return;
    events.push(`${where}: ${event} ${file}`);
  };
  const watchers = [
    watch(env.base, note('base')),
    watch(env.outsideDir, note('outside')),
    watch('/tmp', note('tmp')),
  ];
  return {
    events,
    async settle() {
      const mark = `.settle-${++marks}`;
      writeFileSync(join(env.base, mark), '');
      rmSync(join(env.base, mark));
      await waitFor(() => seen.has(mark), { what: 'the inotify marker' });
    },
    close: () => {
      for (const w of watchers) w.close();
    },
  };
}

describe('malicious archives are rejected and change nothing outside the sandbox', () => {
  it.each(shapes.map((s) => [s.id, s] as const))('%s', async (_id, shape) => {
    const before = env.outside();
    const watcher = watchOutside();
    onTestFinished(() => watcher.close());
    const url = env.server.serve(`/cache/${encodeURIComponent(shape.id)}.tgz`, shape.body());
    const started = Date.now();
    const err: unknown = await (shape.smallCaps ? small : manager).install({ url }).then(
      () => new Error('installed'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PgcError);
    expect({ code: (err as PgcError).code, message: (err as PgcError).message }).toEqual({
      code: shape.code,
      message: expect.stringContaining(shape.says),
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    await watcher.settle();
    expect(watcher.events).toEqual([]);
    expect(env.outside()).toEqual(before);
    expect(readFileSync(env.canary, 'utf8')).toBe('canary\n');
    expect(lstatSync(env.canary).nlink).toBe(1);
    expect(readdirSync(env.outsideDir)).toEqual([]);
    expect(existsSync(tmpEvil)).toBe(false);
    expect(env.list('staging')).toEqual([]);
    expect(env.list('store')).toEqual([]);
    expect(env.list('locks')).toEqual([]);
    expect(existsSync(join(env.base, 'build-ran'))).toBe(false);
  });

  it('special modes and foreign owners are masked, never copied (T16)', async () => {
    const plain = await env.open({ fetchRetries: 0 });
    const url = env.server.serve(
      '/cache/modes.tgz',
      tgz([
        { name: 'bin/', type: '5', mode: 0o7777, uid: 0, gid: 0, uname: 'root', gname: 'root' },
        file('bin/suid', { mode: 0o4755, uid: 0, uname: 'root' }),
        file('bin/sgid', { mode: 0o2755, uid: 4321, gid: 8765 }),
        file('bin/sticky', { mode: 0o1777, uid: 4321, gid: 8765 }),
        file('world-writable', { mode: 0o666, uid: 4321, gid: 8765 }),
        file('no-perms', { mode: 0 }),
      ]),
    );
    const installed = await plain.install({ url });
    const modes = Object.fromEntries(
      ['bin', 'bin/suid', 'bin/sgid', 'bin/sticky', 'world-writable', 'no-perms', '.'].map((p) => {
        const st = statSync(join(installed.dir, p));
        expect(st.uid).toBe(process.getuid?.());
        expect(st.gid).toBe(process.getgid?.());
        return [p, (st.mode & 0o7777).toString(8)];
      }),
    );
    expect(modes).toEqual({
      bin: '555',
      'bin/suid': '555',
      'bin/sgid': '555',
      'bin/sticky': '555',
      'world-writable': '444',
      'no-perms': '444',
      '.': '555',
    });
    installed.release();
  });

  it.skipIf(!existsSync('/usr/bin/prlimit'))(
    'RLIMIT_FSIZE stops a file even if our own accounting let it through (prlimit backstop)',
    async () => {
      const target = join(env.base, 'rlimit-tree');
      mkdirSync(target);
      // Limits that would allow the file; only the process limit stands in the way.
      const limits = {
        maxEntries: 10,
        maxDepth: 8,
        maxPathBytes: 100,
        maxComponentBytes: 255,
        maxExtractedBytes: 8 * MiB,
        maxMetaEntryBytes: 65536,
        maxStreamBytes: 16 * MiB,
      };
      const worker = startWorker(
        { op: 'extract', target, limits, freeze: true },
        { timeoutMs: 30_000, cpuLimitSeconds: 30, fileSizeLimitBytes: MiB, log: env.logs.log },
      );
      worker.stdin.end(tgz([{ name: 'big.bin', data: Buffer.alloc(2 * MiB, 7) }]));
      await expect(worker.done).rejects.toMatchObject({
        code: FailureCode.ARCHIVE_LIMITS,
        message: 'sandbox too large: entry "big.bin" exceeds the file size limit',
      });
      expect(statSync(join(target, 'big.bin')).size).toBeLessThanOrEqual(MiB);
    },
  );

  it('a hung extraction is cut off at the extraction deadline', async () => {
    const slow = await env.open({ fetchRetries: 0, extractTimeoutMs: 100 });
    const store = env.list('store');
    const url = env.server.serve(
      '/cache/many.tgz',
      tgz(Array.from({ length: 30_000 }, (_, i) => ({ name: `d${i % 100}/f${i}` }))),
    );
    await expect(slow.install({ url })).rejects.toMatchObject({
      code: FailureCode.ARCHIVE_LIMITS,
      message: 'sandbox extraction took longer than 100 ms',
    });
    expect(env.list('staging')).toEqual([]);
    expect(env.list('store')).toEqual(store);
  });

  it('after all of that the same manager installs a good archive', async () => {
    const url = env.server.serve('/cache/good.tgz', goodTgz());
    const installed = await manager.install({ url });
    expect(readdirSync(join(installed.dir, 'pkg'))).toHaveLength(20);
    expect(existsSync(join(env.base, 'build-ran'))).toBe(true);
    installed.release();
  });
});
