import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, type PayloadFlags, payloadArgs, payloadPattern } from '../harness/payload.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';

function run(flags: PayloadFlags, cwd?: string) {
  const child = spawn('python3', payloadArgs(flags), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => stdout.push(d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stdout: () => Buffer.concat(stdout) };
}

describe('the payload fixture', () => {
  it('prints the requested bytes of its pattern and exits with the requested code', async () => {
    const p = run({ stdoutBytes: 100_000, exitCode: 3 });
    expect(await p.exited).toEqual({ code: 3, signal: null });
    expect(p.stdout().equals(payloadPattern(100_000))).toBe(true);
  });

  it('dies by a signal when asked', async () => {
    expect(await run({ dieBySignal: 'SIGSEGV' }).exited).toEqual({ code: null, signal: 'SIGSEGV' });
  });

  it('ignores SIGTERM when asked, and its grandchildren outlive it', async () => {
    using dir = tempDir();
    const pidFile = join(dir.path, 'pids.json');
    const p = run({ runMs: -1, ignoreSigterm: true, spawnGrandchild: 2, pidFile });
    const pids = await waitFor(
      () => JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; grandchildren: number[] },
      { what: 'pid file' },
    );
    expect(pids.grandchildren).toHaveLength(2);
    p.child.kill('SIGTERM');
    // A negative (it did not die) needs time to show: give the signal 300 ms to act.
    await new Promise((r) => setTimeout(r, 300));
    expect(isAlive(pids.pid)).toBe(true);
    p.child.kill('SIGKILL');
    await p.exited;
    for (const pid of pids.grandchildren) expect(isAlive(pid)).toBe(true);
    for (const pid of pids.grandchildren) process.kill(pid, 'SIGKILL');
    await waitFor(() => pids.grandchildren.every((pid) => !isAlive(pid)), {
      what: 'grandchildren gone',
    });
  });

  it('writes the requested output files', async () => {
    using dir = tempDir();
    await run({ writeFiles: { 'out.dat': 1000 } }, dir.path).exited;
    expect(readFileSync(join(dir.path, 'out.dat')).equals(payloadPattern(1000))).toBe(true);
  });
});
