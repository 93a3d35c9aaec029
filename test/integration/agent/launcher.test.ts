import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environValue, isRunning, readStat } from '../../../agent/proc.js';
import { Launcher } from '../../../agent/runner/launcher.js';
import {
  readSupervisorExit,
  startSupervised,
  waitForSupervisor,
} from '../../../agent/runner/supervisor.js';
import { silentLogger } from '../../../shared/logger.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';

function openLauncher(): Launcher & Disposable {
  const launcher = new Launcher('/usr/bin/perl', silentLogger()) as Launcher & Disposable;
  launcher[Symbol.dispose] = () => launcher.close();
  return launcher;
}

function supervised(dir: string, argv: string[], env: Record<string, string> = {}) {
  return {
    statusFile: join(dir, 'status.json'),
    argv,
    cwd: dir,
    env: { PATH: '/usr/bin:/bin', ...env },
    stdoutFile: join(dir, 'stdout'),
    stderrFile: join(dir, 'stderr'),
  };
}

describe('the process launcher', () => {
  it('starts a supervised payload in its own session, with exactly the given environment', async () => {
    using dir = tempDir();
    using launcher = openLauncher();
    const request = supervised(
      dir.path,
      ['/bin/sh', '-c', 'env; echo oops >&2; sleep 0.2; exit 7'],
      {
        ONLY: 'this',
      },
    );
    const started = await startSupervised({ perl: '/usr/bin/perl', ...request }, launcher);
    expect(started.pid).toBeGreaterThan(1);
    // Set up before the launcher answers: its own session, its environment in place.
    expect(readStat(started.pid)?.session).toBe(started.pid);
    // In its /proc environ too, where kills and the double-run watch look for the job's marker.
    expect(environValue(started.pid, 'ONLY')).toBe('this');
    const exit = await waitForSupervisor(started, request.statusFile, { ended: started.ended });
    expect(exit).toMatchObject({ exitCode: 7 });
    const env = readFileSync(request.stdoutFile, 'utf8').trim().split('\n').sort();
    // sh adds PWD/SHLVL/_ by itself; nothing of the agent's environment arrives.
    expect(env.filter((l) => !/^(PWD|SHLVL|_)=/.test(l))).toEqual([
      'ONLY=this',
      'PATH=/usr/bin:/bin',
    ]);
    expect(readFileSync(request.stderrFile, 'utf8')).toBe('oops\n');
    expect(statSync(request.stdoutFile).mode & 0o777).toBe(0o600);
  });

  it('reports every child, also those that end at once', async () => {
    using dir = tempDir();
    using launcher = openLauncher();
    const endings = await Promise.all(
      Array.from({ length: 50 }, () => launcher.run({ argv: ['/bin/true'], cwd: dir.path })),
    );
    expect(endings).toEqual(Array(50).fill(0));
    expect(await launcher.run({ argv: ['/bin/sh', '-c', 'exit 3'], cwd: dir.path })).toBe(3 << 8);
  });

  it('refuses a program that cannot run, or a missing directory, saying why', async () => {
    using dir = tempDir();
    using launcher = openLauncher();
    await expect(launcher.run({ argv: ['/no/such/program'], cwd: dir.path })).rejects.toThrow(
      /cannot run \/no\/such\/program: No such file/,
    );
    const request = supervised(join(dir.path, 'gone'), ['/bin/true']);
    await expect(startSupervised({ perl: '/usr/bin/perl', ...request }, launcher)).rejects.toThrow(
      /cannot open .*gone\/stdout|cannot enter .*gone/,
    );
    expect(await launcher.run({ argv: ['/bin/true'], cwd: dir.path })).toBe(0);
  });

  it('refuses a field with a NUL before anything is sent', async () => {
    using dir = tempDir();
    using launcher = openLauncher();
    await expect(launcher.run({ argv: ['/bin/echo', 'a\0b'], cwd: dir.path })).rejects.toThrow(
      /NUL/,
    );
    expect(await launcher.run({ argv: ['/bin/true'], cwd: dir.path })).toBe(0);
  });

  it('when the launcher dies, running supervisors live on and are watched by identity', async () => {
    using dir = tempDir();
    using launcher = openLauncher();
    const request = supervised(dir.path, ['/bin/sh', '-c', 'sleep 0.7; exit 4']);
    const started = await startSupervised({ perl: '/usr/bin/perl', ...request }, launcher);
    const launcherPid = launcher.pid;
    if (launcherPid === undefined) throw new Error('no launcher running');
    process.kill(launcherPid, 'SIGKILL');
    expect(await started.ended).toBe('lost');
    expect(isRunning(started.pid, started.startTicks)).toBe(true);
    const exit = await waitForSupervisor(started, request.statusFile, {
      ended: started.ended,
      pollMs: 20,
    });
    expect(exit).toMatchObject({ exitCode: 4 });
    // The next request starts a new launcher.
    expect(await launcher.run({ argv: ['/bin/true'], cwd: dir.path })).toBe(0);
    expect(launcher.pid).not.toBe(launcherPid);
  });

  it('a supervisor whose payload cannot start records exit 127', async () => {
    using dir = tempDir();
    using launcher = openLauncher();
    const request = supervised(dir.path, ['/no/such/payload']);
    const started = await startSupervised({ perl: '/usr/bin/perl', ...request }, launcher);
    await waitFor(() => existsSync(request.statusFile), { what: 'the status file' });
    expect(readSupervisorExit(request.statusFile)).toMatchObject({ exitCode: 127 });
    expect(await started.ended).toBe(0);
  });
});
