/**
 * The agent core as its own process (`pgc agent exec`), SIGKILLed while five payloads run and
 * started again: the same five processes go on (no second copy), and every result is recovered,
 * including one whose payload ended while the agent was down (RELIABILITY.md I1, I3).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MARKER_VARIABLE } from '../../../agent/agent-core.js';
import { processesByMarker } from '../../../agent/proc.js';
import { JobSpec } from '../../../shared/gen/pgc/v1/job.js';
import { commandSpec } from '../../harness/agent.js';
import { isAlive, PAYLOAD_FIXTURE } from '../../harness/payload.js';
import { PGC_BIN } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';

interface Run {
  child: ChildProcess;
  lines: () => Array<{ pandaId: number; state: string; result: { exitCode?: number } }>;
  exited: Promise<number | null>;
}

function startAgent(stateDir: string, specs: string[]): Run {
  const child = spawn(
    process.execPath,
    [
      PGC_BIN,
      'agent',
      'exec',
      '--endpoint',
      'restart-ep',
      '--state-dir',
      stateDir,
      '--log-level',
      'warn',
      ...specs,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    exited,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l)),
  };
}

/** Supervisors (session leaders) per job marker of this endpoint. */
function supervisors(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [marker, procs] of processesByMarker(MARKER_VARIABLE)) {
    if (marker.startsWith('restart-ep/'))
      out.set(
        marker,
        procs.filter((p) => p.pid === p.session).map((p) => p.pid),
      );
  }
  return out;
}

describe('agent restart', () => {
  it('re-attaches to five running payloads after SIGKILL and recovers every result', async () => {
    using dir = tempDir();
    const stateDir = join(dir.path, 'state');
    const runMs = [7000, 7000, 7000, 7000, 1500];
    const specFiles = runMs.map((ms, i) => {
      const pidFile = join(dir.path, `pid-${i}.json`);
      const spec = commandSpec(
        `exec python3 ${PAYLOAD_FIXTURE} --run-ms ${ms} --pid-file ${pidFile}`,
      );
      const file = join(dir.path, `spec-${i}.json`);
      writeFileSync(file, JSON.stringify(JobSpec.toJSON(spec)));
      return { file, pidFile, pandaId: spec.key?.pandaId ?? 0 };
    });

    const first = startAgent(
      stateDir,
      specFiles.map((s) => s.file),
    );
    const payloadPids = await waitFor(
      () =>
        specFiles.every((s) => existsSync(s.pidFile)) &&
        specFiles.map((s) => (JSON.parse(readFileSync(s.pidFile, 'utf8')) as { pid: number }).pid),
      { what: 'five payloads running', timeoutMs: 20_000 },
    );
    const before = supervisors();
    expect(before.size).toBe(5);
    first.child.kill('SIGKILL');
    await first.exited;

    // The short payload ends while no agent runs; the others carry on.
    await waitFor(() => !isAlive(payloadPids[4] ?? 0), {
      what: 'the short payload to end',
      timeoutMs: 10_000,
    });
    for (const pid of payloadPids.slice(0, 4)) expect(isAlive(pid)).toBe(true);

    const second = startAgent(stateDir, []);
    let maxCopies = 0;
    const sampler = setInterval(() => {
      for (const pids of supervisors().values()) maxCopies = Math.max(maxCopies, pids.length);
    }, 50);
    const code = await second.exited;
    clearInterval(sampler);
    expect(code).toBe(0);

    const results = second.lines();
    expect(results.map((r) => r.pandaId).sort()).toEqual(specFiles.map((s) => s.pandaId).sort());
    for (const r of results) {
      expect(r.state).toBe('finished');
      expect(r.result.exitCode ?? 0).toBe(0);
    }
    // No payload was started twice: each wrote its pid file once, with the pid seen before.
    expect(
      specFiles.map((s) => (JSON.parse(readFileSync(s.pidFile, 'utf8')) as { pid: number }).pid),
    ).toEqual(payloadPids);
    expect(maxCopies).toBeLessThanOrEqual(1);
    // The journal now holds them as delivered: a third start prints nothing and exits.
    const third = startAgent(stateDir, []);
    expect(await third.exited).toBe(0);
    expect(third.lines()).toEqual([]);
  });
});
