/**
 * One part of the demo run as a real `pgc` process (`node bin/pgc.js <args>`): started, watched
 * for the line that says it is ready, stopped with SIGTERM (SIGKILL after a deadline), and its
 * log kept in a file whose tail explains a failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { assetPath } from '../../shared/package-info.js';

/** The pgc entry point, run with this very node (never npx: no second resolution step). */
export const PGC_BIN = assetPath('bin/pgc.js');

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The last `lines` lines of a log file ('' when it cannot be read). */
export function tailOfFile(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export class DemoChild {
  private child: ChildProcess | undefined;
  private exitStatus: ExitStatus | undefined;
  private exited: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });
  private stdoutLines: string[] = [];
  private lineWatchers: Array<(line: string) => void> = [];

  constructor(
    readonly name: string,
    readonly args: readonly string[],
    private readonly env: Readonly<Record<string, string>>,
    readonly logFile: string,
  ) {}

  start(): void {
    if (this.child !== undefined) throw new Error(`${this.name} was started already`);
    // stderr (the pino log) goes straight into the file, so the log survives the demo; stdout,
    // where each command prints the address it listens on, passes through here to be read.
    const logFd = openSync(this.logFile, 'a');
    try {
      // detached: its own process group, so a Ctrl-C in the terminal reaches the demo alone and
      // the demo stops the parts in order (agents with their jobs first, NATS last).
      this.child = spawn(process.execPath, [PGC_BIN, ...this.args], {
        env: this.env,
        stdio: ['ignore', 'pipe', logFd],
        detached: true,
      });
    } finally {
      closeSync(logFd);
    }
    const child = this.child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      }),
    );
    child.once('error', (err) => appendFileSync(this.logFile, `spawn failed: ${err.message}\n`));
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (data: string) => {
      appendFileSync(this.logFile, data);
      buffered += data;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        this.stdoutLines.push(line);
        for (const watch of this.lineWatchers) watch(line);
      }
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitStatus === undefined;
  }

  /** Resolves when the process has exited (at once if it never started). */
  whenExited(): Promise<ExitStatus> {
    return this.exited;
  }

  /** How it ended, for messages: "exit code 1", "signal SIGKILL". */
  describeExit(): string {
    const s = this.exitStatus;
    if (s === undefined) return 'still running';
    return s.signal !== null ? `signal ${s.signal}` : `exit code ${s.code}`;
  }

  /**
   * The first stdout line matching `pattern` (one already printed counts); rejects when the
   * process exits first or the deadline passes, with the tail of its log.
   */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    for (const line of this.stdoutLines) {
      const m = pattern.exec(line);
      if (m !== null) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      let watcher: (line: string) => void = () => {};
      const done = (): void => {
        clearTimeout(timer);
        this.lineWatchers = this.lineWatchers.filter((w) => w !== watcher);
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`did not say it was ready within ${timeoutMs} ms`));
      }, timeoutMs);
      watcher = (line) => {
        const m = pattern.exec(line);
        if (m === null) return;
        done();
        resolve(m);
      };
      this.lineWatchers.push(watcher);
      void this.exited.then(() => {
        if (!this.lineWatchers.includes(watcher)) return;
        done();
        reject(this.failure(`exited (${this.describeExit()}) before it was ready`));
      });
    });
  }

  /** An error naming this process, what went wrong and the end of its log. */
  failure(what: string): Error {
    return new Error(
      `${this.name} ${what}; the end of ${this.logFile}:\n${indent(tailOfFile(this.logFile))}`,
    );
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child?.kill(signal);
  }

  /** SIGTERM (or `signal`), then SIGKILL once `timeoutMs` has passed; resolves once it exited. */
  async stop(timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `${prefix}${line}`))
    .join('\n');
}
