/**
 * Sandbox install speed. Builds a ~100 MB / 5,000-file source tree (text-like, about 2:1 under
 * gzip), packs it with `tar czf`, serves it from loopback HTTP, and compares, median of N runs:
 *   - `tar xzf` of the archive from local disk into a fresh directory;
 *   - a cold SandboxManager.install() (download + sha256 + extraction worker + verify + freeze +
 *     rename) into a fresh root, on a manager just opened (open() starts the first extraction
 *     worker ahead of need, as in a running agent);
 *   - a cache hit: install() of the same URL on a warm manager (target ≤ 5 ms).
 * Also prints the median of the per-round ratios: the two runs of a round are adjacent in time,
 * which matters on VMs whose disk speed drifts by the minute.
 *   node_modules/.bin/tsx bench/sandbox-install.ts [runs] [work-dir, default the OS temp dir]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxManager } from '../agent/sandbox/sandbox-manager.js';
import { silentLogger } from '../shared/logger.js';

const runs = Number(process.argv[2] ?? 3);
/** Where the archive is unpacked; default the OS temp dir (local disk). */
const base = process.argv[3] ?? tmpdir();
const FILES = 5_000;
const TOTAL_BYTES = 100_000_000;

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Deterministic pseudo-random generator (mulberry32), so every run packs the same bytes. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeTree(dir: string): void {
  const random = rng(42);
  const words = Array.from({ length: 4000 }, () =>
    Array.from({ length: 2 + Math.floor(random() * 9) }, () =>
      String.fromCharCode(97 + Math.floor(random() * 26)),
    ).join(''),
  );
  const perFile = Math.floor(TOTAL_BYTES / FILES);
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `pkg${i % 50}`, `mod${i % 7}`);
    mkdirSync(sub, { recursive: true });
    const size = perFile + Math.floor((random() - 0.5) * perFile);
    let text = '';
    while (text.length < size) {
      // One line in five is hex noise, like data files and minified code.
      text +=
        random() < 0.2
          ? `${Math.floor(random() * 2 ** 52).toString(16)}${Math.floor(random() * 2 ** 52).toString(16)}\n`
          : `${Array.from({ length: 8 }, () => words[Math.floor(random() * words.length)]).join(' ')}\n`;
    }
    writeFileSync(join(sub, `file${i}.py`), text.slice(0, size), {
      mode: i % 10 === 0 ? 0o755 : 0o644,
    });
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(base, 'pgc-bench-sandbox-'));
  const server = createServer();
  try {
    const src = join(work, 'src');
    mkdirSync(src);
    makeTree(src);
    const archive = join(work, 'sandbox.tar.gz');
    execFileSync('tar', ['czf', archive, '-C', src, '.']);
    const body = readFileSync(archive);
    const uncompressed = Number(execFileSync('du', ['-sb', src]).toString().split('\t')[0]);
    console.log(
      `archive: ${FILES} files, ${(uncompressed / 1e6).toFixed(1)} MB uncompressed, ${(statSync(archive).size / 1e6).toFixed(1)} MB gzipped`,
    );

    server.on('request', (_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cache/sandbox.tar.gz`;

    const tarMs: number[] = [];
    const coldMs: number[] = [];
    const timeTar = (i: number): void => {
      const out = join(work, `tar-${i}`);
      mkdirSync(out);
      const t0 = performance.now();
      execFileSync('tar', ['xzf', archive, '-C', out]);
      tarMs.push(performance.now() - t0);
    };
    const timeInstall = async (i: number): Promise<void> => {
      const manager = await SandboxManager.open({
        root: join(work, `root-${i}`),
        log: silentLogger(),
      });
      const t0 = performance.now();
      const installed = await manager.install({ url });
      coldMs.push(performance.now() - t0);
      installed.release();
      await manager.close();
    };
    // This kind of VM slows down and speeds up by the minute (page-cache allocation is costly
    // here), so the two are interleaved, alternating which goes first, and nothing is deleted
    // until the end (deletions trigger discards that slow the next run).
    for (let i = 0; i < runs; i++) {
      execFileSync('sync');
      if (i % 2 === 0) {
        timeTar(i);
        execFileSync('sync');
        await timeInstall(i);
      } else {
        await timeInstall(i);
        execFileSync('sync');
        timeTar(i);
      }
    }

    const root = join(work, 'root-warm');
    const manager = await SandboxManager.open({ root, log: silentLogger() });
    (await manager.install({ url })).release();
    const hitMs: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      const installed = await manager.install({ url });
      hitMs.push(performance.now() - t0);
      installed.release();
    }
    await manager.close();
    execFileSync('chmod', ['-R', 'u+w', root]);

    const tar = median(tarMs);
    const cold = median(coldMs);
    const ratios = coldMs.map((c, i) => c / (tarMs[i] ?? Number.NaN));
    const sorted = [...hitMs].sort((a, b) => a - b);
    const list = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(`tar xzf (median of ${runs}):          ${tar.toFixed(0)} ms   [${list(tarMs)}]`);
    console.log(`cold install (median of ${runs}):     ${cold.toFixed(0)} ms   [${list(coldMs)}]`);
    console.log(
      `cold install / tar xzf:           ${(cold / tar).toFixed(2)}x of medians, ${median(ratios).toFixed(2)}x median per round [${ratios.map((r) => r.toFixed(2)).join(', ')}] (target <= 1.5x)`,
    );
    console.log(
      `cache hit (1000 installs):        median ${median(hitMs).toFixed(3)} ms, p99 ${(sorted[989] ?? Number.NaN).toFixed(3)} ms, max ${(sorted[999] ?? Number.NaN).toFixed(3)} ms (target <= 5 ms)`,
    );
  } finally {
    server.close();
    execFileSync('chmod', ['-R', 'u+w', work]);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
