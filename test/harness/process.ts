/** A `pgc` subcommand run as its own process by a test: started, signalled, restarted, logged. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { PGC_BIN } from './pgc.js';

export class PgcProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> = Promise.resolve(null);
  private log: WriteStream;
  starts = 0;

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.starts++;
    this.log.write(`\n=== start #${this.starts} ===\n`);
    // PGC_NODE_ARGS passes node flags NODE_OPTIONS refuses (e.g. --cpu-prof, for profiling).
    const nodeArgs = process.env.PGC_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, PGC_BIN, ...this.args], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sends a signal and waits for the process to end (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (child === undefined || !this.running) return this.exit;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await this.exit;
    clearTimeout(timer);
    return code;
  }

  async restart(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.stop(signal);
    this.start();
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    this.log.end();
  }
}
