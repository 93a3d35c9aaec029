/**
 * Runs bench/lib/simulated-agents.ts as its own process (node with tsx's loader) and follows its
 * progress lines, for the scale and control-footprint scenarios.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SCRIPT = join(import.meta.dirname, 'simulated-agents.ts');

export interface AgentsProgress {
  at: number;
  welcomed: number;
  dispatches: number;
  acks: number;
  results: number;
  publishErrors: number;
  streamEnds: number;
}

export interface AgentsOptions {
  server: string;
  nats?: string;
  count: number;
  queue: string;
  slots?: number;
  idPrefix?: string;
  subjectPrefix?: string;
  noEvents?: boolean;
  logFile: string;
  /** How long all Hellos may take. */
  readyTimeoutMs?: number;
}

export class SimulatedAgents implements AsyncDisposable {
  readonly history: AgentsProgress[] = [];
  readyMs = 0;
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(options: AgentsOptions): Promise<SimulatedAgents> {
    const args = [
      '--import',
      'tsx',
      SCRIPT,
      '--server',
      options.server,
      '--count',
      String(options.count),
      '--queue',
      options.queue,
      '--slots',
      String(options.slots ?? 4),
      '--id-prefix',
      options.idPrefix ?? 'sim',
      '--subject-prefix',
      options.subjectPrefix ?? 'pgc',
    ];
    if (options.nats !== undefined) args.push('--nats', options.nats);
    if (options.noEvents) args.push('--no-events');
    const log = createWriteStream(options.logFile, { flags: 'a' });
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.pipe(log);
    const agents = new SimulatedAgents(child);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the simulated agents were not all welcomed in time`)),
        options.readyTimeoutMs ?? 180_000,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        let tail = '';
        try {
          tail = readFileSync(options.logFile, 'utf8').slice(-500);
        } catch {
          // No log.
        }
        reject(
          new Error(`the simulated agents exited (${code}) before all were welcomed: ${tail}`),
        );
      });
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        let msg: { type?: string; ms?: number } & Partial<AgentsProgress>;
        try {
          msg = JSON.parse(line);
        } catch {
          return;
        }
        if (msg.type === 'ready') {
          clearTimeout(timer);
          agents.readyMs = msg.ms ?? 0;
          resolve();
        } else if (msg.type === 'progress') agents.history.push(msg as AgentsProgress);
      });
    });
    try {
      await ready;
    } catch (err) {
      await agents[Symbol.asyncDispose]();
      throw err;
    }
    return agents;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get latest(): AgentsProgress | undefined {
    return this.history.at(-1);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * When a counter that started at `from` first reached `from + target`, interpolated between
 * samples; undefined if it never did.
 */
export function crossingMs(
  samples: ReadonlyArray<{ at: number; value: number }>,
  from: number,
  target: number,
): number | undefined {
  let prev: { at: number; value: number } | undefined;
  for (const s of samples) {
    const v = s.value - from;
    if (v >= target) {
      if (prev === undefined) return s.at;
      const pv = prev.value - from;
      return prev.at + ((target - pv) / Math.max(1e-9, v - pv)) * (s.at - prev.at);
    }
    prev = s;
  }
  return undefined;
}

/** The rate over the steady part: from 10 % to 90 % of `total` counted after `from`. */
export function steadyRate(
  samples: ReadonlyArray<{ at: number; value: number }>,
  from: number,
  total: number,
): number {
  const t10 = crossingMs(samples, from, total * 0.1);
  const t90 = crossingMs(samples, from, total * 0.9);
  if (t10 === undefined || t90 === undefined || t90 <= t10) return Number.NaN;
  return (total * 0.8) / ((t90 - t10) / 1000);
}

/** VmRSS and VmHWM of a process, in MiB. */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) / 1024;
  };
  return { rssMb: kb('VmRSS'), hwmMb: kb('VmHWM') };
}
