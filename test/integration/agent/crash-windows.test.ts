/**
 * The agent SIGKILLed at each window where a crash matters (RELIABILITY.md test 22): after
 * `starting` is journaled but before the spawn, after the spawn before `running` is journaled,
 * after the payload ended before its result is recorded, after the result is recorded before it
 * is delivered. Restarted, the agent finishes the job with exactly one payload ever started.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobSpec } from '../../../shared/gen/pgc/v1/job.js';
import { commandSpec } from '../../harness/agent.js';
import { PGC_BIN } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';

function agentExec(stateDir: string, specs: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [
      PGC_BIN,
      'agent',
      'exec',
      '--endpoint',
      'crash-ep',
      '--state-dir',
      stateDir,
      '--log-level',
      'warn',
      ...specs,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  return new Promise<{ signal: NodeJS.Signals | null; lines: Array<{ state: string }> }>(
    (resolve) =>
      child.once('exit', (_code, signal) =>
        resolve({
          signal,
          lines: out
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l)),
        }),
      ),
  );
}

describe('agent crash windows', () => {
  for (const point of ['before-spawn', 'after-spawn', 'after-exit', 'after-result']) {
    it(`recovers from a crash ${point} with one payload started`, async () => {
      using dir = tempDir();
      const starts = join(dir.path, 'starts.txt');
      const specFile = join(dir.path, 'spec.json');
      writeFileSync(
        specFile,
        JSON.stringify(JobSpec.toJSON(commandSpec(`echo started >> ${starts}; sleep 0.5`))),
      );
      const stateDir = join(dir.path, 'state');

      const crashed = await agentExec(stateDir, [specFile], { PGC_FAULT_AT: point });
      expect(crashed.signal).toBe('SIGKILL');
      expect(crashed.lines).toEqual([]);

      const resumed = await agentExec(stateDir, []);
      expect(resumed.signal).toBeNull();
      expect(resumed.lines.map((l) => l.state)).toEqual(['finished']);
      expect(existsSync(starts) ? readFileSync(starts, 'utf8') : '').toBe('started\n');
    });
  }
});
