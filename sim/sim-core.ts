/**
 * The simulator's state and clocks behind the HTTP layer: the job table, cache, replicas, faults,
 * the call log, the Adder's delayed finalisation and the watchdog loop. Handlers get this object;
 * only server.ts owns the sockets.
 */
import type { Logger } from '../shared/logger.js';
import type { CacheStore } from './cache.js';
import { Faults } from './faults.js';
import type { JobEvent, Outcome } from './job-record.js';
import { type JobCall, JobStore } from './job-store.js';
import type { ReplicaRegistry } from './replicas.js';
import { DEFAULT_TIMEOUTS, mergeTimeouts, type SimTimeouts } from './timeouts.js';

/** One HTTP request the simulator answered (or faulted), for "nothing was acquired" checks. */
export interface ApiCall {
  atMs: number;
  method: string;
  path: string;
  faulted: boolean;
}

// The call log keeps the most recent calls only, so a long-running simulator stays bounded.
const MAX_API_CALLS = 100_000;

export class SimCore {
  readonly store = new JobStore();
  readonly faults = new Faults();
  private readonly apiCalls: ApiCall[] = [];
  private timeouts: SimTimeouts;
  private readonly adderTimers = new Set<NodeJS.Timeout>();
  private watchdogTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly log: Logger,
    readonly cache: CacheStore,
    readonly replicas: ReplicaRegistry,
    readonly token: string | undefined,
    /** HTTPS with a client CA: a verified client certificate is a credential (x509, §0.5). */
    readonly x509: boolean,
    timeouts: Partial<SimTimeouts>,
    readonly baseUrl: () => string,
  ) {
    this.timeouts = mergeTimeouts({ ...DEFAULT_TIMEOUTS }, timeouts);
    this.startWatchdog();
  }

  now(): number {
    return Date.now();
  }

  getTimeouts(): SimTimeouts {
    return { ...this.timeouts };
  }

  /** Changes clocks at run time; the watchdog restarts with the new interval. */
  setTimeouts(patch: Partial<Record<string, unknown>>): SimTimeouts {
    this.timeouts = mergeTimeouts(this.timeouts, patch);
    this.log.info({ timeouts: this.timeouts }, 'timeouts changed');
    if (!this.closed) this.startWatchdog();
    return this.getTimeouts();
  }

  /** Applies an event to a job and logs state changes. */
  apply(pandaId: number, event: JobEvent): Outcome {
    const before = this.store.get(pandaId)?.state.status;
    const outcome = this.store.apply(pandaId, event);
    const after = this.store.get(pandaId)?.state.status;
    if (before !== after)
      this.log.info({ pandaId, from: before, to: after, event: event.type }, 'job moved');
    return outcome;
  }

  recordApiCall(call: ApiCall): void {
    if (this.apiCalls.length >= MAX_API_CALLS) this.apiCalls.shift();
    this.apiCalls.push(call);
  }

  listApiCalls(): ApiCall[] {
    return [...this.apiCalls];
  }

  recordJobCall(pandaId: number, call: JobCall): void {
    this.store.recordCall(pandaId, call);
  }

  /** The Adder finalises a job reported finished/failed after `adderDelayMs` (§2.3). */
  scheduleAdder(pandaId: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.adderTimers.delete(timer);
      this.apply(pandaId, { type: 'adder', atMs: this.now() });
    }, this.timeouts.adderDelayMs);
    this.adderTimers.add(timer);
  }

  private startWatchdog(): void {
    clearInterval(this.watchdogTimer);
    this.watchdogTimer = setInterval(() => this.watchdogTick(), this.timeouts.watchdogIntervalMs);
    this.watchdogTimer.unref();
  }

  private watchdogTick(): void {
    const atMs = this.now();
    for (const job of this.store.live()) {
      this.apply(job.def.pandaId, { type: 'watchdog', atMs, timeouts: this.timeouts });
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdogTimer);
    for (const timer of this.adderTimers) clearTimeout(timer);
    this.adderTimers.clear();
    this.faults.clear();
  }
}
