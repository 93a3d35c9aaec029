import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveInterpreter } from '../../../agent/runner/interpreter.js';
import { FailureCode } from '../../../shared/errors.js';
import { KillReason } from '../../../shared/gen/pgc/v1/common.js';
import {
  commandSpec,
  openTestAgent,
  pathOf,
  pythonAdler32,
  testSpec,
} from '../../harness/agent.js';
import { isAlive, PAYLOAD_FIXTURE, payloadPattern } from '../../harness/payload.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';

function fixture(flags: string): string {
  return `python3 ${PAYLOAD_FIXTURE} ${flags}`;
}

describe('agent core runs payloads', () => {
  it('runs a command, collects its output with adler32 matching zlib, and archives its logs', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path);
    const spec = commandSpec(
      `${fixture('--write-file out.dat=100000 --stdout-bytes 5000 --stderr-bytes 300')} && echo done`,
      {
        outputs: [
          {
            localName: 'out.dat',
            lfn: 'user.t.out.dat',
            scope: 'user.t',
            dataset: 'd',
            guid: 'g-1',
          },
        ],
        log: { lfn: 'user.t.log.tgz', guid: 'g-log', scope: 'user.t' },
      },
    );
    const result = await (await agent.core.run(spec)).done;
    expect(result.failure).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const [out] = result.outputs;
    expect(out?.sizeBytes).toBe(100_000);
    const path = pathOf(out);
    expect(out?.adler32).toBe(pythonAdler32(path));
    expect(readFileSync(path).equals(payloadPattern(100_000))).toBe(true);
    // The log tarball holds stdout and stderr exactly, and the agent's record.
    const logPath = pathOf(result.log);
    expect(result.log?.lfn).toBe('user.t.log.tgz');
    const listing = execFileSync('tar', ['tzf', logPath], { encoding: 'utf8' });
    expect(listing).toMatch(/stdout\.txt/);
    expect(listing).toMatch(/pgc-job\.json/);
    const stdout = execFileSync('tar', ['xzOf', logPath, '--wildcards', '*/stdout.txt']);
    expect(stdout.equals(Buffer.concat([payloadPattern(5000), Buffer.from('done\n')]))).toBe(true);
    expect(agent.events.map((e) => e.body?.$case)).toEqual([
      'accepted',
      'staging',
      'running',
      'finishing',
      'result',
    ]);
    expect(agent.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports a non-zero exit with the tail of stderr, and a signal by name', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path);
    const failed = await (
      await agent.core.run(commandSpec('echo "boom: disk on fire" >&2; exit 3'))
    ).done;
    expect(failed.failure?.code).toBe(FailureCode.NONZERO_EXIT);
    expect(failed.failure?.message).toBe('payload exited with code 3');
    expect(failed.exitCode).toBe(3);
    expect(failed.errorDiag).toBe('boom: disk on fire');
    const segv = await (
      await agent.core.run(commandSpec(`exec ${fixture('--die-by-signal SIGSEGV')}`))
    ).done;
    expect(segv.signal).toBe('SIGSEGV');
    expect(segv.exitCode).toBeUndefined();
    expect(segv.failure?.message).toBe('payload was killed by SIGSEGV');
  });

  it('runs a function payload in a fresh namespace and returns its value as JSON', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path);
    const spec = testSpec({
      payload: {
        $case: 'function',
        function: {
          preScript:
            'import json\nclass Acc:\n    total = 0\ndef add(a, b=1):\n    Acc.total += a + b\n    return {"sum": Acc.total, "cwd_ok": __import__("os").path.isdir(".")}',
          funcName: 'add',
          argsJson: '[2]',
          kwargsJson: '{"b": 5}',
        },
      },
      outputs: [
        { localName: 'out.dat', lfn: 'user.t.fn.out.dat', scope: 'user.t', dataset: '', guid: 'g' },
      ],
    });
    const result = await (await agent.core.run(spec)).done;
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.returnValueJson)).toEqual({ sum: 7, cwd_ok: true });
    // The 2023 integration wrote str(return value) into the first declared output.
    expect(readFileSync(pathOf(result.outputs[0]), 'utf8')).toBe("{'sum': 7, 'cwd_ok': True}");
  });

  it('reports a function exception with its last line and the traceback in stderr', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path);
    const spec = testSpec({
      payload: {
        $case: 'function',
        function: {
          preScript: 'def f():\n    return 1 / 0',
          funcName: 'f',
          argsJson: '',
          kwargsJson: '',
        },
      },
      log: { lfn: 'user.t.err.log.tgz', guid: 'g', scope: 'user.t' },
    });
    const result = await (await agent.core.run(spec)).done;
    expect(result.failure?.code).toBe(FailureCode.NONZERO_EXIT);
    expect(result.errorDiag).toBe('ZeroDivisionError: division by zero');
    const logPath = pathOf(result.log);
    const stderr = execFileSync('tar', ['xzOf', logPath, '--wildcards', '*/stderr.txt'], {
      encoding: 'utf8',
    });
    expect(stderr).toMatch(/Traceback \(most recent call last\)[\s\S]*ZeroDivisionError/);
    const missing = await (
      await agent.core.run(
        testSpec({
          payload: {
            $case: 'function',
            function: { preScript: 'x = 1', funcName: 'nope', argsJson: '', kwargsJson: '' },
          },
        }),
      )
    ).done;
    expect(missing.errorDiag).toBe("NameError: function 'nope' is not defined by pre_script");
  });

  it('fails a job whose declared output is missing or a symbolic link', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path);
    const outputs = [{ localName: 'out.dat', lfn: 'user.t.o1', scope: '', dataset: '', guid: '' }];
    const missing = await (await agent.core.run(commandSpec('true', { outputs }))).done;
    expect(missing.failure).toEqual({
      code: FailureCode.OUTPUT_MISSING,
      message: 'output out.dat was not produced',
      retryable: false,
    });
    const link = await (await agent.core.run(commandSpec('ln -s /etc/passwd out.dat', { outputs })))
      .done;
    expect(link.failure?.code).toBe(FailureCode.OUTPUT_MISSING);
    expect(link.failure?.message).toMatch(/is a symbolic link; outputs must be regular files/);
  });

  it('kills on walltime and on memory, with those reasons', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path, { killGraceMs: 200 });
    const slow = commandSpec(`exec ${fixture('--run-ms 60000')}`, {
      limits: { cores: 1, memoryMb: 0, walltimeS: 1, killGraceMs: 0 },
    });
    const hungry = commandSpec(`exec ${fixture('--alloc-mb 300 --run-ms 60000')}`, {
      limits: { cores: 1, memoryMb: 100, walltimeS: 0, killGraceMs: 0 },
    });
    const [walltime, memory] = await Promise.all([
      (await agent.core.run(slow)).done,
      (await agent.core.run(hungry)).done,
    ]);
    expect(walltime.failure?.code).toBe(FailureCode.WALLTIME);
    expect(walltime.killReason).toBe(KillReason.WALLTIME);
    expect(memory.failure?.code).toBe(FailureCode.MEMORY);
    expect(memory.failure?.message).toMatch(/over the 100 MB limit/);
    expect(memory.usage?.maxRssBytes).toBeGreaterThan(100 * 1024 * 1024);
  });

  it('kills a payload that ignores SIGTERM, with grandchildren, within grace + 3 s; killing it again is a no-op', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path, { killGraceMs: 1000 });
    const pidFile = join(dir.path, 'pids.json');
    const runner = await agent.core.run(
      commandSpec(
        `exec ${fixture(`--run-ms -1 --ignore-sigterm --spawn-grandchild 2 --pid-file ${pidFile}`)}`,
      ),
    );
    const pids = await waitFor(
      () =>
        existsSync(pidFile) &&
        (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; grandchildren: number[] }),
      { what: 'payload up' },
    );
    const started = Date.now();
    expect(await agent.core.kill(runner.key, KillReason.OPERATOR, 'by test')).toBe('killed');
    const tookMs = Date.now() - started;
    expect(tookMs).toBeLessThan(1000 + 3000);
    for (const pid of [pids.pid, ...pids.grandchildren])
      expect(isAlive(pid), `pid ${pid}`).toBe(false);
    const result = await runner.done;
    expect(result.failure?.code).toBe(FailureCode.KILLED_BY_OPERATOR);
    expect(await agent.core.kill(runner.key, KillReason.OPERATOR)).toBe('already-final');
    expect(await agent.core.kill({ pandaId: 1, attemptNr: 1 }, KillReason.OPERATOR)).toBe(
      'unknown',
    );
  });

  it('finishes a job whose grandchild keeps stdout open, and kills the leftover', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path);
    const pidFile = join(dir.path, 'pids.json');
    const result = await (
      await agent.core.run(
        commandSpec(`exec ${fixture(`--spawn-grandchild 1 --pid-file ${pidFile}`)}`),
      )
    ).done;
    expect(result.failure).toBeUndefined();
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as { grandchildren: number[] };
    expect(isAlive(pids.grandchildren[0] ?? 0)).toBe(false);
  });

  it('caps an archived log at maxLogBytes with one marker line, byte-identical before it', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path, { maxLogBytes: 100_000 });
    const spec = commandSpec(fixture('--stdout-bytes 150000'), {
      log: { lfn: 'user.t.cap.log.tgz', guid: 'g', scope: '' },
    });
    const result = await (await agent.core.run(spec)).done;
    expect(result.failure).toBeUndefined();
    const logPath = pathOf(result.log);
    const stdout = execFileSync('tar', ['xzOf', logPath, '--wildcards', '*/stdout.txt']);
    expect(stdout.subarray(0, 100_000).equals(payloadPattern(100_000))).toBe(true);
    expect(stdout.subarray(100_000).toString()).toBe('\n[pgc: truncated at 100000 bytes]\n');
  });

  it('kills a job whose log passes twice the cap, with the log-too-large reason', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path, { maxLogBytes: 100_000, killGraceMs: 100 });
    const result = await (
      await agent.core.run(commandSpec(`${fixture('--stdout-bytes 300000')}; sleep 30`))
    ).done;
    expect(result.failure?.code).toBe(FailureCode.LOG_TOO_LARGE);
  });

  it('never follows a symlink planted as an output to a secret', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path);
    const secret = join(dir.path, 'secret');
    symlinkSync('/etc/hostname', secret);
    const outputs = [{ localName: 'o', lfn: 'user.t.o', scope: '', dataset: '', guid: '' }];
    const result = await (await agent.core.run(commandSpec(`ln -s ${secret} o`, { outputs }))).done;
    expect(result.outputs).toEqual([]);
    expect(result.failure?.code).toBe(FailureCode.OUTPUT_MISSING);
  });

  it('resolves the configured interpreter once to its real binary, and refuses one that cannot run', async () => {
    const real = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    }).trim();
    const interpreter = await resolveInterpreter('python3', process.env);
    expect(interpreter.path).toBe(real);
    expect(interpreter.version).toMatch(/^3\.\d+\.\d+/);
    await expect(resolveInterpreter('/nonexistent/python', process.env)).rejects.toThrow(
      /python interpreter "\/nonexistent\/python" cannot be run/,
    );
  });

  it('starts one payload when the same attempt is run twice at once', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(dir.path);
    const spec = commandSpec(`exec ${fixture('--run-ms 300')}`);
    const [a, b] = await Promise.all([agent.core.run(spec), agent.core.run(spec)]);
    expect(a).toBe(b);
    await a.done;
    expect(agent.events.filter((e) => e.body?.$case === 'running')).toHaveLength(1);
  });
});
