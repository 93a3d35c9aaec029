/**
 * Starts a real nats-server with JetStream on loopback, on a free port with its own store:
 * what the demo runs and what integration tests use. Readiness is read from the server's own
 * log ("Server is ready"), never guessed with a sleep. A restart keeps the port and the store,
 * so clients reconnect and durable state survives, as after a real server restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  constants,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { FailureCode, PgcError, UnavailableError } from '../errors.js';

/** The command that installs nats-server on Debian, shown when it is missing. */
export const NATS_INSTALL_COMMAND = 'apt-get update && apt-get install -y nats-server';

/**
 * Finds the nats-server binary: $PGC_NATS_SERVER (passed in), then PATH, then /usr/sbin (Debian
 * installs it there, which is not on a normal user's PATH).
 */
export function findNatsServer(env: Readonly<Record<string, string | undefined>> = {}): string {
  const candidates = [
    env.PGC_NATS_SERVER,
    ...(env.PATH ?? '').split(delimiter).map((dir) => (dir ? join(dir, 'nats-server') : undefined)),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
  ];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new PgcError(
    FailureCode.FAILED_PRECONDITION,
    `nats-server was not found on PATH or in /usr/sbin. Install it with: ${NATS_INSTALL_COMMAND} ` +
      '(or set PGC_NATS_SERVER to its path)',
  );
}

export interface LocalNatsOptions {
  binary: string;
  /** Extra nats-server configuration text (e.g. an authorization block). */
  configText?: string;
  /** Store directory; a fresh temporary one by default (removed by dispose()). */
  storeDir?: string;
  /** Fixed port; a free one by default. */
  port?: number;
  readyTimeoutMs?: number;
  /** Also append the server's log to this file (the demo keeps every process's log on disk). */
  logFile?: string;
  /** Run in its own process group, out of reach of a terminal's Ctrl-C (the demo stops it last). */
  detached?: boolean;
}

export class LocalNatsServer implements AsyncDisposable {
  readonly storeDir: string;
  private readonly ownsStore: boolean;
  private child: ChildProcess | undefined;
  private logTail: string[] = [];
  private chosenPort: number | undefined;
  private configText: string | undefined;
  /** Each sees every new log line; one that returns true is done. */
  private lineWatchers: Array<(line: string) => boolean> = [];

  private constructor(private readonly options: LocalNatsOptions) {
    this.ownsStore = options.storeDir === undefined;
    this.storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'pgc-nats-'));
    this.chosenPort = options.port;
    this.configText = options.configText;
  }

  static async start(options: LocalNatsOptions): Promise<LocalNatsServer> {
    const server = new LocalNatsServer(options);
    try {
      await server.launch();
    } catch (err) {
      await server.dispose();
      throw err;
    }
    return server;
  }

  get port(): number {
    if (this.chosenPort === undefined) throw new Error('nats-server has not started');
    return this.chosenPort;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** The last lines the server logged, for failure messages. */
  get log(): string {
    return this.logTail.join('\n');
  }

  private async launch(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.chosenPort ?? -1), ...this.writeConfig()];
    const child = spawn(this.options.binary, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: this.options.detached === true,
    });
    this.child = child;
    this.logTail = [];
    const timeoutMs = this.options.readyTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new UnavailableError(
            `nats-server did not become ready within ${timeoutMs} ms:\n${this.log}`,
          ),
        );
      }, timeoutMs);
      let buffered = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (data: string) => {
        if (this.options.logFile !== undefined) appendFileSync(this.options.logFile, data);
        buffered += data;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          this.logTail.push(line);
          if (this.logTail.length > 200) this.logTail.shift();
          this.lineWatchers = this.lineWatchers.filter((watch) => !watch(line));
          const listening = /Listening for client connections on [^\s]+:(\d+)/.exec(line);
          if (listening?.[1]) this.chosenPort = Number(listening[1]);
          if (line.includes('Server is ready')) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new UnavailableError(
            `nats-server exited (${signal ?? `code ${code}`}) before it was ready:\n${this.log}`,
          ),
        );
      });
    });
  }

  /** The command-line arguments for the store, writing the configuration file if there is one. */
  private writeConfig(): string[] {
    if (this.configText === undefined) return ['-js', '-sd', this.storeDir];
    // A store directory given by the caller may not exist yet (nats-server would create it).
    mkdirSync(this.storeDir, { recursive: true });
    const file = join(this.storeDir, 'nats-server.conf');
    // JetStream's store goes in the file, not in -sd: nats-server refuses to reload a
    // configuration whose store directory came from a flag ("not supported for jetstream
    // storage dir"), and a reload without any JetStream setting shuts JetStream down.
    writeFileSync(
      file,
      `jetstream { store_dir: ${JSON.stringify(this.storeDir)} }\n${this.configText}\n`,
    );
    return ['-c', file];
  }

  /**
   * Replaces the configuration of a running server (as an operator edits the file and sends
   * SIGHUP, e.g. after rotating a key) and resolves once the server says it reloaded it.
   */
  async reload(configText: string, timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (this.configText === undefined || child === undefined || !this.running)
      throw new Error('only a running nats-server started with a configuration can reload one');
    this.configText = configText;
    this.writeConfig();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new UnavailableError(`nats-server did not reload within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.lineWatchers.push((line) => {
        const failed = line.includes('Failed to reload');
        if (!failed && !line.includes('Reloaded server configuration')) return false;
        clearTimeout(timer);
        if (failed) reject(new UnavailableError(line));
        else resolve();
        return true;
      });
      child.kill('SIGHUP');
    });
  }

  /** Stops the server; SIGKILL simulates a crash, SIGTERM a clean shutdown. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** Stops and starts again on the same port with the same store. */
  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    if (this.ownsStore) rmSync(this.storeDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
