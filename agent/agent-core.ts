/**
 * The agent core: runs JobSpecs and remembers them across restarts. Opening it re-attaches to
 * every payload in the journal and kills payloads that carry this endpoint's marker but are in no
 * journal entry (a lost or corrupted journal must never let a second copy start, RELIABILITY.md
 * test 24). It knows nothing of PanDA or of the control plane; the session layer drives it.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FailureCode, PgcError } from '../shared/errors.js';
import { type JobKey, KillReason } from '../shared/gen/pgc/v1/common.js';
import type { JobEvent } from '../shared/gen/pgc/v1/events.js';
import type { JobResult, JobSpec } from '../shared/gen/pgc/v1/job.js';
import { attemptId, validateJobKey } from '../shared/ids.js';
import { EVENT_RANK } from '../shared/job-events.js';
import type { Logger } from '../shared/logger.js';
import { Journal, type JournalEntry, type LocalState, publishedAtMs } from './journal.js';
import { processesByMarker } from './proc.js';
import { resolveInterpreter } from './runner/interpreter.js';
import {
  type FaultPoint,
  JobRunner,
  type RunnerSettings,
  type SandboxProvider,
} from './runner/job-runner.js';
import { killJobTree } from './runner/kill.js';
import { Launcher } from './runner/launcher.js';
import { ResourceMonitor } from './runner/monitor.js';
import type { Download } from './runner/stage-in.js';
import type { PendingUpload } from './runner/stage-out.js';

export const MARKER_VARIABLE = 'PGC_JOB_MARKER';

/** A delivered attempt: its job directory is kept a while, then removed. */
export interface PublishedAttempt {
  key: JobKey;
  jobDir: string;
  publishedAtMs: number;
}

/** What must be stored before an attempt's result may be published. */
export interface DeliveryPlan {
  logFiles: { stdout: string; stderr: string };
  uploads: readonly PendingUpload[];
}

export interface AgentCoreOptions {
  endpointId: string;
  stateDir: string;
  log: Logger;
  agentEnv: Readonly<Record<string, string | undefined>>;
  python: string;
  sandboxes: SandboxProvider;
  download: Download;
  settings: Omit<RunnerSettings, 'markerVariable'>;
  monitorIntervalMs: number;
  allowNetworkFilesystem?: boolean;
  /** Every job event, in order per attempt. */
  onEvent?: (event: JobEvent) => void;
  /** Test hook: the runner calls it at crash-sensitive points (see FaultPoint). */
  fault?: (point: FaultPoint) => void;
}

function findPerl(env: Readonly<Record<string, string | undefined>>): string {
  for (const dir of [...(env.PATH ?? '').split(delimiter), '/usr/bin', '/bin']) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'perl'), constants.X_OK);
      return join(dir, 'perl');
    } catch {}
  }
  throw new PgcError(
    FailureCode.FAILED_PRECONDITION,
    'perl was not found; it runs the payload supervisor (Debian: perl-base)',
  );
}

export class AgentCore {
  private readonly runners = new Map<string, JobRunner>();
  private readonly starting = new Map<string, Promise<JobRunner>>();
  /** Attempts delivered before this process started: listed in Hello, never run again. */
  private readonly published = new Map<string, PublishedAttempt>();
  private readonly launcher: Launcher;

  private constructor(
    private readonly options: AgentCoreOptions,
    private readonly journal: Journal,
    private readonly monitor: ResourceMonitor,
    private readonly python: string,
    private readonly perl: string,
  ) {
    this.launcher = new Launcher(perl, options.log.child({ component: 'launcher' }));
  }

  static async open(options: AgentCoreOptions): Promise<AgentCore> {
    const log = options.log.child({ component: 'agent-core' });
    const interpreter = await resolveInterpreter(
      options.python,
      options.agentEnv as NodeJS.ProcessEnv,
    );
    const perl = findPerl(options.agentEnv);
    const journal = await Journal.open(join(options.stateDir, 'journal'), {
      allowNetworkFilesystem: options.allowNetworkFilesystem ?? false,
    });
    const core = new AgentCore(
      options,
      journal,
      new ResourceMonitor(options.monitorIntervalMs, log),
      interpreter.path,
      perl,
    );
    log.info(
      { python: interpreter.path, pythonVersion: interpreter.version, perl },
      'agent core opening',
    );
    const entries = await journal.all();
    await core.killOrphans(entries);
    for (const entry of entries) {
      if (entry.state === 'published') {
        core.published.set(attemptId(entry.key), {
          key: entry.key,
          jobDir: entry.jobDir,
          publishedAtMs: publishedAtMs(entry) ?? entry.acceptedAtMs,
        });
        continue;
      }
      core.runners.set(attemptId(entry.key), JobRunner.resume(core.context(), entry));
    }
    log.info({ resumed: core.runners.size }, 'agent core open');
    return core;
  }

  private markerPrefix(): string {
    return `${this.options.endpointId}/`;
  }

  /** Payloads of this endpoint that no journal entry knows: kill them before anything runs. */
  private async killOrphans(entries: readonly JournalEntry[]): Promise<void> {
    const known = new Set(entries.map((e) => e.marker));
    for (const [marker, processes] of processesByMarker(MARKER_VARIABLE)) {
      if (!marker.startsWith(this.markerPrefix()) || known.has(marker)) continue;
      const leader = processes.find((p) => p.pid === p.session);
      const supervisor =
        leader === undefined
          ? { pid: 0, startTicks: 0 }
          : { pid: leader.pid, startTicks: leader.startTicks };
      this.options.log.error(
        { marker, pids: processes.map((p) => p.pid) },
        'payload not in the journal (journal lost or corrupted): killing it',
      );
      await killJobTree(
        { supervisor, markerVariable: MARKER_VARIABLE, marker },
        { graceMs: this.options.settings.killGraceMs, log: this.options.log },
      );
    }
  }

  private context() {
    return {
      journal: this.journal,
      sandboxes: this.options.sandboxes,
      monitor: this.monitor,
      python: this.python,
      perl: this.perl,
      launcher: this.launcher,
      download: this.options.download,
      agentEnv: this.options.agentEnv,
      settings: { ...this.options.settings, markerVariable: MARKER_VARIABLE },
      log: this.options.log,
      emit: (key: JobKey, body: NonNullable<JobEvent['body']>) => this.emit(key, body),
      ...(this.options.fault ? { fault: this.options.fault } : {}),
    };
  }

  private emit(key: JobKey, body: NonNullable<JobEvent['body']>): void {
    const event = {
      endpointId: this.options.endpointId,
      key,
      seq: EVENT_RANK[body.$case],
      atMs: Date.now(),
      body,
    };
    this.options.onEvent?.(event);
  }

  /**
   * Accepts and starts a job. The same attempt twice returns the runner already there; an attempt
   * the journal does not hold is journaled (`accepted`, synced) before anything happens.
   */
  async run(spec: JobSpec): Promise<JobRunner> {
    const key = validateJobKey(spec.key);
    const id = attemptId(key);
    const existing = this.runners.get(id);
    if (existing !== undefined) return existing;
    // Two dispatches of one attempt arriving together must not both pass the checks below
    // before either is recorded (I1): the second waits for the first.
    const starting = this.starting.get(id);
    if (starting !== undefined) return starting;
    const started = this.startNew(key, id, spec).finally(() => this.starting.delete(id));
    this.starting.set(id, started);
    return started;
  }

  private async startNew(key: JobKey, id: string, spec: JobSpec): Promise<JobRunner> {
    if (this.published.has(id) || (await this.journal.get(key)) !== undefined) {
      throw new PgcError(
        FailureCode.FAILED_PRECONDITION,
        `attempt ${key.pandaId}/${key.attemptNr} already ran here`,
      );
    }
    const entry: JournalEntry = {
      key,
      spec,
      state: 'accepted',
      marker: `${this.markerPrefix()}${id}/${randomBytes(6).toString('hex')}`,
      jobDir: join(this.options.stateDir, 'jobs', id),
      acceptedAtMs: Date.now(),
      history: [{ type: 'accepted', atMs: Date.now(), message: '' }],
    };
    await this.journal.put(entry);
    this.emit(key, { $case: 'accepted', accepted: {} });
    const runner = JobRunner.start(this.context(), entry);
    this.runners.set(id, runner);
    return runner;
  }

  runner(key: JobKey): JobRunner | undefined {
    return this.runners.get(attemptId(key));
  }

  /** Kills a job; resolves when nothing of it is left. A finished or unknown job is a no-op. */
  async kill(
    key: JobKey,
    reason: KillReason,
    message = '',
    graceMs?: number,
  ): Promise<'killed' | 'already-final' | 'unknown'> {
    const runner = this.runners.get(attemptId(key));
    if (runner === undefined)
      return this.published.has(attemptId(key)) ? 'already-final' : 'unknown';
    if (runner.state === 'exited' || runner.state === 'published') return 'already-final';
    await runner.kill(reason, message, graceMs);
    return 'killed';
  }

  /** Records a kill request and starts it; resolves once the request is journaled. */
  async requestKill(
    key: JobKey,
    reason: KillReason,
    message = '',
    graceMs?: number,
  ): Promise<'requested' | 'already-final' | 'unknown'> {
    const runner = this.runners.get(attemptId(key));
    if (runner === undefined)
      return this.published.has(attemptId(key)) ? 'already-final' : 'unknown';
    return (await runner.requestKill(reason, message, graceMs)) ? 'requested' : 'already-final';
  }

  /** Records that an attempt's result reached its destination. */
  async markPublished(key: JobKey): Promise<void> {
    const runner = this.runners.get(attemptId(key));
    if (runner === undefined || runner.state === 'published') return;
    await runner.markPublished();
  }

  /** Every attempt this agent holds, with its local state (delivered ones included). */
  attempts(): Array<{ key: JobKey; state: LocalState }> {
    const live = [...this.runners.values()].map((r) => ({ key: r.key, state: r.state }));
    const earlier = [...this.published.values()].map(({ key }) => ({
      key,
      state: 'published' as const,
    }));
    return [...live, ...earlier];
  }

  /** Delivered attempts with their job directories (for the retention sweep). */
  publishedAttempts(): PublishedAttempt[] {
    const now: PublishedAttempt[] = [];
    for (const r of this.runners.values()) {
      const at = r.publishedAtMs;
      if (at !== undefined) now.push({ key: r.key, jobDir: r.jobDir, publishedAtMs: at });
    }
    return [...now, ...this.published.values()];
  }

  /** The log files and pending uploads of an attempt that has a result; undefined otherwise. */
  deliveryPlan(key: JobKey): DeliveryPlan | undefined {
    const runner = this.runners.get(attemptId(key));
    if (runner === undefined || runner.state !== 'exited') return undefined;
    return { logFiles: runner.logFiles, uploads: runner.uploads };
  }

  /** Replaces an unpublished attempt's recorded result (see JobRunner.amendResult). */
  async amendResult(key: JobKey, change: (result: JobResult) => JobResult): Promise<JobResult> {
    const runner = this.runners.get(attemptId(key));
    if (runner === undefined)
      throw new PgcError(FailureCode.NOT_FOUND, `attempt ${attemptId(key)} is not held here`);
    return runner.amendResult(change);
  }

  /** Runners of jobs that have not ended (their slots and memory are in use). */
  active(): JobRunner[] {
    return [...this.runners.values()].filter(
      (r) => r.state !== 'exited' && r.state !== 'published',
    );
  }

  /**
   * Stops the agent. Payloads keep running (they are re-attached by the next start) unless
   * `cancelJobs`, which kills them with the agent-shutdown reason first.
   */
  async close(options: { cancelJobs?: boolean } = {}): Promise<void> {
    if (options.cancelJobs) {
      await Promise.all([...this.runners.values()].map((r) => r.kill(KillReason.AGENT_SHUTDOWN)));
    }
    this.monitor.close();
    this.launcher.close();
    await this.journal.close();
  }
}
