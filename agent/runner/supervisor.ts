/**
 * Starting a payload under supervisor.pl and learning how it ended. The supervisor is the leader
 * of a new session and process group (spawn `detached`), so the agent can die and come back while
 * the payload runs on; the payload's stdout and stderr are files, not pipes through the agent
 * (a pipe blocks the payload when the agent stalls and loses output when it dies).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { FailureCode, PgcError } from '../../shared/errors.js';
import { isRunning, readStat } from '../proc.js';
import { type Ending, type Launcher, type RunAs, runAsArg, SUPERVISOR_SCRIPT } from './launcher.js';

/** A process by identity: a pid alone may be reused after the process ends. */
export interface ProcessIdentity {
  pid: number;
  startTicks: number;
}

export interface SupervisorExit {
  /** Undefined when the payload was ended by a signal. */
  exitCode?: number;
  signal?: NodeJS.Signals;
  cpuTimeMs: number;
  endedAtMs: number;
}

export interface StartOptions {
  perl: string;
  statusFile: string;
  /** The payload's program and arguments (no shell involved unless the program is a shell). */
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  stdoutFile: string;
  stderrFile: string;
  /** Run the payload as this user (the supervisor stays the agent's user). */
  runAs?: RunAs;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

export interface Started extends ProcessIdentity {
  /** Resolves when its parent saw it end ('lost': the parent cannot tell any more). */
  ended: Promise<Ending>;
}

/**
 * Starts the supervisor with the payload; resolves once it runs (its identity is known). Through
 * the launcher when there is one (cheap), else as a child of this process.
 */
export async function startSupervised(
  options: StartOptions,
  launcher?: Launcher,
): Promise<Started> {
  if (launcher !== undefined) {
    const { pid, ended } = await launcher.startSupervisor(options);
    return { pid, startTicks: readStat(pid)?.startTicks ?? -1, ended };
  }
  const out = openSync(options.stdoutFile, 'a', 0o600);
  const err = openSync(options.stderrFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    const args = [SUPERVISOR_SCRIPT, options.statusFile, runAsArg(options.runAs), ...options.argv];
    child = spawn(options.perl, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', out, err],
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', (e) =>
      reject(
        new PgcError(
          FailureCode.INTERNAL,
          `cannot start the payload supervisor (${options.perl}): ${e.message}`,
          { cause: e },
        ),
      ),
    );
  });
  const ended = new Promise<Ending>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(0);
    else child.once('exit', () => resolve(0));
  });
  // An undefined stat: it already ended (e.g. an immediate exit) and only its file matters.
  return { pid, startTicks: readStat(pid)?.startTicks ?? -1, ended };
}

/** The file the supervisor creates before it forks the payload: proof that a payload may have run. */
export function startedFile(statusFile: string): string {
  return `${statusFile}.started`;
}

/** Reads the status file the supervisor leaves; undefined if there is none (yet). */
export function readSupervisorExit(statusFile: string): SupervisorExit | undefined {
  if (!existsSync(statusFile)) return undefined;
  const raw = JSON.parse(readFileSync(statusFile, 'utf8')) as {
    exit: number | null;
    signal: number | null;
    cpu_user_s: number;
    cpu_sys_s: number;
  };
  const exit: SupervisorExit = {
    cpuTimeMs: Math.round((raw.cpu_user_s + raw.cpu_sys_s) * 1000),
    // Written (renamed into place) right after the payload ended.
    endedAtMs: Math.round(statSync(statusFile).mtimeMs),
  };
  if (raw.exit !== null) exit.exitCode = raw.exit;
  if (raw.signal !== null) exit.signal = SIGNAL_NAMES.get(raw.signal) ?? 'SIGKILL';
  return exit;
}

/**
 * Waits until the supervisor has ended: resolves with the payload's exit, or with 'vanished' when
 * the supervisor ended without writing one (it was SIGKILLed). Works for the agent's own child
 * (`ended`, from its parent) and for a supervisor adopted after an agent restart (polled by identity).
 */
export function waitForSupervisor(
  identity: ProcessIdentity,
  statusFile: string,
  options: { ended?: Promise<Ending>; pollMs?: number } = {},
): Promise<SupervisorExit | 'vanished'> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (): void => {
      clearInterval(timer);
      resolve(readSupervisorExit(statusFile) ?? 'vanished');
    };
    const gone = (): boolean =>
      identity.startTicks < 0 || !isRunning(identity.pid, identity.startTicks);
    const poll = (): void => {
      if (gone()) {
        settle();
        return;
      }
      timer = setInterval(() => {
        if (gone()) settle();
      }, options.pollMs ?? 200);
    };
    if (options.ended === undefined) {
      poll();
      return;
    }
    void options.ended.then((ending) => (ending === 'lost' ? poll() : settle()));
  });
}
