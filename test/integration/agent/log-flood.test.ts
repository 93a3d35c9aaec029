/**
 * A payload printing 200 MB as fast as it can, run by the agent core as its own process: the log
 * goes straight to a file (the payload is never blocked by the agent), the archived copy is
 * byte-identical up to the cap with the marker after it, and the agent's own peak memory stays
 * bounded (≤ 180 MB VmHWM, of which ~130 MB is Node and tsx compiling the sources at start)
 * because nothing of the log passes through it in bulk: buffering the 100 MB capped log would
 * take it well past 250 MB.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobSpec } from '../../../shared/gen/pgc/v1/job.js';
import { commandSpec } from '../../harness/agent.js';
import { PAYLOAD_FIXTURE, payloadPattern } from '../../harness/payload.js';
import { PGC_BIN } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';

const CAP = 100 * 1024 * 1024;
const FLOOD = 200_000_000;

function vmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

describe('a 200 MB stdout flood', () => {
  it('is archived byte-identical up to the cap, marked, with the agent under 180 MB', async () => {
    using dir = tempDir();
    const spec = commandSpec(`exec python3 ${PAYLOAD_FIXTURE} --stdout-bytes ${FLOOD}`, {
      log: { lfn: 'user.t.flood.log.tgz', guid: 'g', scope: '' },
    });
    const file = join(dir.path, 'spec.json');
    writeFileSync(file, JSON.stringify(JobSpec.toJSON(spec)));
    const agent = spawn(
      process.execPath,
      [
        PGC_BIN,
        'agent',
        'exec',
        '--endpoint',
        'flood-ep',
        '--state-dir',
        join(dir.path, 'state'),
        '--log-level',
        'warn',
        file,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, PGC_MAX_LOG_BYTES: String(CAP) },
      },
    );
    let out = '';
    agent.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    let peakKb = 0;
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, vmHwmKb(agent.pid ?? 0));
    }, 50);
    const code = await new Promise<number | null>((resolve) => agent.once('exit', resolve));
    clearInterval(sampler);
    expect(code).toBe(0);
    const line = JSON.parse(out.trim()) as {
      state: string;
      result: { log: { location: { path: string } } };
    };
    expect(line.state).toBe('finished');
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb / 1024).toBeLessThanOrEqual(180);

    const tarball = line.result.log.location.path;
    const extracted = await new Promise<Buffer[]>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const tar = spawn('tar', ['xzOf', tarball, '--wildcards', '*/stdout.txt']);
      tar.stdout.on('data', (c: Buffer) => chunks.push(c));
      tar.once('exit', (c) => (c === 0 ? resolve(chunks) : reject(new Error(`tar exited ${c}`))));
    });
    const stdout = Buffer.concat(extracted);
    const marker = `\n[pgc: truncated at ${CAP} bytes]\n`;
    expect(stdout.length).toBe(CAP + marker.length);
    expect(stdout.subarray(CAP).toString()).toBe(marker);
    const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(digest(stdout.subarray(0, CAP))).toBe(digest(payloadPattern(CAP)));
  }, 180_000);
});
