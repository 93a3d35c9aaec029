/**
 * `pgc demo [--keep]`: the whole system on this machine (cli/demo/run.ts). This command is its
 * own entry point: it finds nats-server before anything starts, makes the one directory that
 * holds every process's state and log, owns the SIGINT/SIGTERM handlers, and whatever happens
 * stops every process it started and removes the directory (kept under --keep, and said so).
 *
 * First signal: stop in order (agents and their jobs, control plane, simulator, NATS); under
 * --keep that is the normal end. A second signal SIGKILLs what is still running.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemoSystem } from '../demo/demo-system.js';
import { natsServerForDemo } from '../demo/nats-binary.js';
import { runDemo } from '../demo/run.js';
import { DemoInterruptedError } from '../demo/wait.js';
import type { CliIo } from '../program.js';

export interface DemoFlags {
  keep?: boolean;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export async function runDemoCommand(flags: DemoFlags, io: CliIo): Promise<void> {
  const startedAtMs = Date.now();
  const natsBinary = natsServerForDemo(io.env);
  // realpath: payload working directories are compared with it (/proc/<pid>/cwd is resolved).
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'pgc-demo-')));
  const system = new DemoSystem(dir, natsBinary, io.env);
  const interrupt = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      io.stdout(`\n${signal}: stopping everything…\n`);
      interrupt.abort(new DemoInterruptedError(signal));
    } else {
      io.stdout(`${signal} again: killing what is left\n`);
      for (const child of system.children) child.signal('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let interruptedOnly = false;
  try {
    await runDemo({
      system,
      keep: flags.keep === true,
      tty: process.stdout.isTTY === true,
      print: io.stdout,
      signal: interrupt.signal,
      startedAtMs,
    });
  } catch (err) {
    // Under --keep a signal during the run still means "stop": that is not a failure then.
    interruptedOnly = flags.keep === true && err instanceof DemoInterruptedError;
    if (!interruptedOnly) throw err;
  } finally {
    const stoppingAtMs = Date.now();
    await system.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const stopped = `stopped every process in ${seconds(Date.now() - stoppingAtMs)}`;
    if (flags.keep) io.stdout(`${stopped}; state and logs kept in ${dir}\n`);
    else {
      rmSync(dir, { recursive: true, force: true });
      io.stdout(`${stopped} and removed ${dir}; total time ${seconds(Date.now() - startedAtMs)}\n`);
    }
  }
}
