/**
 * The agent's side of launcher.pl: a small Perl process that forks payload supervisors and helper
 * programs for the agent, because forking the agent itself (a large Node process) is the most
 * expensive step of a short job. Started on first use and again after it dies; a child whose end
 * the launcher can no longer report (it died) resolves as 'lost', and the caller falls back to
 * watching the process by its identity, as it does for supervisors adopted after a restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { FailureCode, PgcError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { assetPath } from '../../shared/package-info.js';
export const LAUNCHER_SCRIPT = assetPath('agent/runner/launcher.pl');
export const SUPERVISOR_SCRIPT = assetPath('agent/runner/supervisor.pl');

/** A wait status (as waitpid gives it), or 'lost' when the launcher died first. */
export type Ending = number | 'lost';

export interface Launched {
  pid: number;
  ended: Promise<Ending>;
}

interface Pending {
  /** The launcher process that got the request. */
  via: ChildProcess;
  started: { resolve: (pid: number) => void; reject: (err: Error) => void };
  ended: (ending: Ending) => void;
}

/** A user to run a payload as (only an agent running as root can). */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface SupervisorRequest {
  statusFile: string;
  runAs?: RunAs;
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  stdoutFile: string;
  stderrFile: string;
}

export interface HelperRequest {
  argv: readonly string[];
  cwd: string;
  /** Files for the helper's output; '' (the default) is /dev/null. */
  stdoutFile?: string;
  stderrFile?: string;
}

/** supervisor.pl's run-as argument: "" or "UID:GID". */
export function runAsArg(runAs: RunAs | undefined): string {
  return runAs === undefined ? '' : `${runAs.uid}:${runAs.gid}`;
}

function checkField(value: string, what: string): string {
  if (value.includes('\0')) throw new PgcError(FailureCode.INVALID_ARGUMENT, `${what} has a NUL`);
  return value;
}

export class Launcher {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(
    private readonly perl: string,
    private readonly log: Logger,
  ) {}

  /** Starts a payload under supervisor.pl in a new session, with exactly `env`. */
  startSupervisor(request: SupervisorRequest): Promise<Launched> {
    const env = Object.entries(request.env).map(([k, v]) => checkField(`${k}=${v}`, 'env'));
    return this.send([
      'S',
      request.statusFile,
      runAsArg(request.runAs),
      request.cwd,
      request.stdoutFile,
      request.stderrFile,
      String(env.length),
      ...env,
      ...request.argv,
    ]);
  }

  /** Runs a helper program to its end; resolves with its wait status. */
  async run(request: HelperRequest): Promise<Ending> {
    const launched = await this.send([
      'R',
      request.cwd,
      request.stdoutFile ?? '',
      request.stderrFile ?? '',
      ...request.argv,
    ]);
    return launched.ended;
  }

  /** The running launcher's pid, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the launcher (its children live on). */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private send(fields: string[]): Promise<Launched> {
    if (this.closed) return Promise.reject(new Error('the launcher is closed'));
    const [kind, ...rest] = fields;
    const id = this.nextId++;
    const frame = Buffer.from(
      [kind, String(id), ...rest.map((f) => checkField(f, 'launch request'))].join('\0'),
    );
    const child = this.ensure();
    let ended: (ending: Ending) => void = () => {};
    const endedPromise = new Promise<Ending>((resolve) => {
      ended = resolve;
    });
    const started = new Promise<number>((resolve, reject) => {
      this.pending.set(id, { via: child, started: { resolve, reject }, ended });
    });
    child.stdin?.write(Buffer.concat([Buffer.from(`${frame.length}\n`), frame]));
    return started.then((pid) => ({ pid, ended: endedPromise }));
  }

  private ensure(): ChildProcess {
    if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null)
      return this.child;
    const child = spawn(this.perl, [LAUNCHER_SCRIPT, SUPERVISOR_SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    // The launcher must not keep the agent alive, nor die of a write after its end.
    child.unref();
    child.stdin?.on('error', () => undefined);
    for (const stream of [child.stdout, child.stderr])
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      this.log.warn({ line }, 'launcher'),
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
      this.onReply(line),
    );
    child.once('error', (err) => this.onGone(child, err.message));
    child.once('exit', (code, signal) => this.onGone(child, `exited (${signal ?? code})`));
    return child;
  }

  private onReply(line: string): void {
    const [tag, idText, ...rest] = line.split(' ');
    const id = Number(idText);
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    if (tag === 'P') pending.started.resolve(Number(rest[0]));
    else if (tag === 'F') {
      this.pending.delete(id);
      pending.started.reject(new PgcError(FailureCode.INTERNAL, rest.join(' ')));
    } else if (tag === 'X') {
      this.pending.delete(id);
      pending.ended(Number(rest[0]));
    }
  }

  private onGone(child: ChildProcess, why: string): void {
    if (this.child === child) this.child = undefined;
    if (!this.closed) this.log.warn({ why }, 'the process launcher ended; starting a new one');
    for (const [id, pending] of this.pending) {
      if (pending.via !== child) continue;
      pending.started.reject(
        new PgcError(FailureCode.INTERNAL, `the process launcher ${why} before starting it`),
      );
      pending.ended('lost');
      this.pending.delete(id);
    }
  }
}
