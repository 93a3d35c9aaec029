/**
 * One job attempt from acceptance to result: install the sandbox, stage in, start the payload
 * under its supervisor, watch walltime, memory and log size, kill on request, collect outputs and
 * logs, record the result. Every step that another process could observe is journaled first.
 *
 *   accepted → staging → starting → running → exited      (journal states, agent/journal.ts)
 *                 │  kill / setup failure  ─────┘  ▲
 *                 └────────────────────────────────┘
 *
 * A runner is also built from a journal entry after an agent restart (resume): it re-attaches to
 * a live supervisor by pid, start time and marker, or reads how the payload ended while the agent
 * was down; it never starts a second copy of a payload that may have started.
 */
import { existsSync, rmSync } from 'node:fs';
import { FailureCode, PgcError, toFailure } from '../../shared/errors.js';
import { type Failure, type JobKey, KillReason } from '../../shared/gen/pgc/v1/common.js';
import type { JobEvent } from '../../shared/gen/pgc/v1/events.js';
import type { JobResult, JobSpec } from '../../shared/gen/pgc/v1/job.js';
import type { Logger } from '../../shared/logger.js';
import { type Journal, type JournalEntry, type LocalState, publishedAtMs } from '../journal.js';
import { processesByMarker } from '../proc.js';
import type { RunAsUser } from '../run-as.js';
import { readHead, readReturnValue, readTail } from './file-ends.js';
import { handOver, type JobPaths, jobPaths, prepareJobDir } from './job-dir.js';
import { decideFailure, type Outcome } from './job-result.js';
import { killJobTree } from './kill.js';
import type { Ending, Launcher } from './launcher.js';
import { writeLogArchive } from './log-archive.js';
import type { ResourceMonitor, Sample } from './monitor.js';
import { collectOutputs } from './outputs.js';
import { payloadArgv, payloadEnv } from './payload-argv.js';
import { checkSpecFiles, safeLogName } from './spec-files.js';
import { type Download, stageIn } from './stage-in.js';
import {
  type PendingUpload,
  placeLogArchive,
  placeOutputs,
  type StageOutSettings,
} from './stage-out.js';
import {
  type SupervisorExit,
  startedFile,
  startSupervised,
  waitForSupervisor,
} from './supervisor.js';

export interface InstalledSandboxRef {
  digest: string;
  dir: string;
  buildLogPath?: string;
  release(): void;
}

/** What the runner needs of agent/sandbox. */
export interface SandboxProvider {
  install(
    source: { url: string; sha256?: string },
    signal?: AbortSignal,
  ): Promise<InstalledSandboxRef>;
  reference(digest: string): InstalledSandboxRef | undefined;
}

export interface RunnerSettings {
  markerVariable: string;
  maxLogBytes: number;
  killGraceMs: number;
  maxKillGraceMs: number;
  /** Cap on a job's walltime; 0: none. */
  maxWalltimeS: number;
  /** Cap on a job's memory; 0: none. */
  maxMemoryMb: number;
  maxOutputBytes: number;
  localInputDirs: string[];
  heartbeatIntervalMs: number;
  passEnv: string[];
  /** Payloads run as this user (the agent runs as root); undefined: as the agent's user. */
  runAs?: RunAsUser;
  /**
   * Where outputs and the log tarball go. Without it (pgc agent exec, no NATS) they stay in the
   * job directory and the result names their paths there.
   */
  stageOut?: StageOutSettings;
}

export interface RunnerContext {
  journal: Journal;
  sandboxes: SandboxProvider;
  monitor: ResourceMonitor;
  python: string;
  perl: string;
  /** Forks supervisors and helpers cheaply; without one the agent forks them itself. */
  launcher?: Launcher;
  download: Download;
  agentEnv: Readonly<Record<string, string | undefined>>;
  settings: RunnerSettings;
  log: Logger;
  emit(key: JobKey, body: NonNullable<JobEvent['body']>): void;
  /** Test hook: called at the windows where a crash matters (RELIABILITY.md test 22). */
  fault?: (point: FaultPoint) => void;
}

/** Where a crash of the agent is most dangerous for a job. */
export type FaultPoint = 'before-spawn' | 'after-spawn' | 'after-exit' | 'after-result';

export class JobRunner {
  readonly done: Promise<JobResult>;
  private readonly paths: JobPaths;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private sandbox: InstalledSandboxRef | undefined;
  private peakRssBytes = 0;
  private logWarned = false;
  private readonly cleanups: Array<() => void> = [];
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly ctx: RunnerContext,
    private readonly entry: JournalEntry,
    resume: boolean,
  ) {
    this.paths = jobPaths(entry.jobDir);
    this.log = ctx.log.child({
      component: 'job',
      pandaId: entry.key.pandaId,
      attemptNr: entry.key.attemptNr,
    });
    this.done = (resume ? this.resume() : this.runFresh()).finally(() => this.cleanup());
    this.done.catch(() => {});
  }

  /** Runs a job whose entry (state `accepted`) is already journaled. */
  static start(ctx: RunnerContext, entry: JournalEntry): JobRunner {
    return new JobRunner(ctx, entry, false);
  }

  /** Continues a job found in the journal after an agent restart. */
  static resume(ctx: RunnerContext, entry: JournalEntry): JobRunner {
    return new JobRunner(ctx, entry, true);
  }

  get key(): JobKey {
    return this.entry.key;
  }

  get state(): LocalState {
    return this.entry.state;
  }

  get spec(): JobSpec {
    return this.entry.spec;
  }

  /** The supervisor's pid once the payload runs. */
  get pid(): number | undefined {
    return this.entry.supervisor?.pid;
  }

  get jobDir(): string {
    return this.entry.jobDir;
  }

  /** The payload's stdout and stderr files, which the log shipper tails. */
  get logFiles(): { stdout: string; stderr: string } {
    return { stdout: this.paths.stdout, stderr: this.paths.stderr };
  }

  /** Files to put into the object store before the result is published (journaled with it). */
  get uploads(): readonly PendingUpload[] {
    return this.entry.uploads ?? [];
  }

  /** When the result was delivered; undefined before. */
  get publishedAtMs(): number | undefined {
    return publishedAtMs(this.entry);
  }

  /**
   * Replaces the recorded result (journaled before it returns): used when a file the result
   * names can never be stored, so the published result does not point at it.
   */
  async amendResult(change: (result: JobResult) => JobResult): Promise<JobResult> {
    if (this.entry.result === undefined || this.entry.state !== 'exited')
      throw new PgcError(
        FailureCode.FAILED_PRECONDITION,
        `cannot amend the result of a job in state ${this.entry.state}`,
      );
    this.entry.result = change(this.entry.result);
    this.note('result-amended', 'a file of the result could not be stored');
    await this.save();
    return this.entry.result;
  }

  /**
   * Records a kill request (journaled, so a restarted agent carries it on) and starts the kill;
   * resolves once it is recorded. False when the job had already ended or is being killed.
   */
  async requestKill(reason: KillReason, message = '', graceMs?: number): Promise<boolean> {
    if (
      this.entry.state === 'exited' ||
      this.entry.state === 'published' ||
      this.entry.kill !== undefined
    )
      return false;
    this.entry.kill = { reason, message, atMs: Date.now() };
    this.note('kill-requested', `${KillReason[reason]}${message ? `: ${message}` : ''}`);
    await this.save();
    this.abort.abort(new PgcError(FailureCode.CANCELLED, `killed (${KillReason[reason]})`));
    this.killTree(graceMs);
    return true;
  }

  /** Kills the job; resolves when nothing of it is left and its result is recorded. No-op once it ended. */
  async kill(reason: KillReason, message = '', graceMs?: number): Promise<void> {
    await this.requestKill(reason, message, graceMs);
    await this.done.catch(() => {});
  }

  /** Records that the result reached its destination; a restarted agent will not deliver it again. */
  async markPublished(): Promise<void> {
    if (this.entry.state !== 'exited')
      throw new PgcError(
        FailureCode.FAILED_PRECONDITION,
        `cannot publish a job in state ${this.entry.state}`,
      );
    await this.moveTo('published', 'result delivered');
  }

  private grace(requested?: number): number {
    const s = this.ctx.settings;
    const wanted = requested ?? (this.entry.spec.limits?.killGraceMs || s.killGraceMs);
    return Math.min(wanted, s.maxKillGraceMs);
  }

  private killTree(graceMs?: number): void {
    const sup = this.entry.supervisor;
    if (sup === undefined) return;
    const target = {
      supervisor: sup,
      markerVariable: this.ctx.settings.markerVariable,
      marker: this.entry.marker,
    };
    killJobTree(target, { graceMs: this.grace(graceMs), log: this.log }).catch((err: unknown) =>
      this.log.error({ err }, 'kill failed'),
    );
  }

  private note(type: string, message: string): void {
    this.entry.history.push({ type, atMs: Date.now(), message });
  }

  /** Journal writes of one job are serialised, so a later state never lands before an earlier one. */
  private save(): Promise<void> {
    this.saving = this.saving.then(() => this.ctx.journal.put(this.entry));
    return this.saving;
  }

  private async moveTo(state: LocalState, message: string): Promise<void> {
    this.entry.state = state;
    this.note(state, message);
    await this.save();
  }

  private async runFresh(): Promise<JobResult> {
    const spec = this.entry.spec;
    const signal = this.abort.signal;
    let cwd: string;
    try {
      // File names become paths: a spec with an unsafe one fails here, before any is used.
      checkSpecFiles(spec);
      // A staging interrupted by a restart left a partial directory; no payload ever used it.
      rmSync(this.paths.root, { recursive: true, force: true });
      await this.moveTo('staging', 'installing the sandbox and inputs');
      this.ctx.emit(this.key, {
        $case: 'staging',
        staging: { message: 'installing the sandbox and inputs' },
      });
      if (spec.sandbox !== undefined && spec.sandbox.url !== '') {
        this.sandbox = await this.ctx.sandboxes.install(
          {
            url: spec.sandbox.url,
            ...(spec.sandbox.sha256 ? { sha256: spec.sandbox.sha256 } : {}),
          },
          signal,
        );
        this.entry.sandboxDigest = this.sandbox.digest;
      }
      cwd = prepareJobDir(this.paths, this.sandbox?.dir, spec.runDir);
      await stageIn(spec.inputs, cwd, {
        localDirs: this.ctx.settings.localInputDirs,
        download: this.ctx.download,
        log: this.log,
        signal,
      });
      signal.throwIfAborted();
    } catch (err) {
      const setupFailure: Failure = toFailure(err);
      return this.finish(
        {
          exit: 'not-started',
          ...(this.entry.kill ? { kill: this.entry.kill } : { setupFailure }),
        },
        undefined,
      );
    }
    return this.spawn(cwd);
  }

  /** Journals `starting`, spawns the supervisor, journals `running`, then supervises. */
  private async spawn(cwd: string): Promise<JobResult> {
    const spec = this.entry.spec;
    const env = payloadEnv({
      agentEnv: this.ctx.agentEnv,
      passEnv: this.ctx.settings.passEnv,
      spec,
      ...(this.sandbox ? { sandboxDir: this.sandbox.dir } : {}),
      cwd,
      markerVariable: this.ctx.settings.markerVariable,
      marker: this.entry.marker,
      ...(this.ctx.settings.runAs ? { runAs: this.ctx.settings.runAs } : {}),
    });
    const argv = payloadArgv(spec, this.paths, this.ctx.python);
    const runAs = this.ctx.settings.runAs;
    if (runAs !== undefined) handOver(this.paths, runAs);
    // Durable before the spawn: a restarted agent that finds `starting` knows a payload may exist.
    await this.moveTo('starting', 'starting the payload');
    this.ctx.fault?.('before-spawn');
    let ended: Promise<Ending>;
    try {
      const started = await startSupervised(
        {
          perl: this.ctx.perl,
          statusFile: this.paths.status,
          argv,
          cwd,
          env,
          stdoutFile: this.paths.stdout,
          stderrFile: this.paths.stderr,
          ...(runAs ? { runAs } : {}),
        },
        this.ctx.launcher,
      );
      ended = started.ended;
      this.entry.supervisor = {
        pid: started.pid,
        startTicks: started.startTicks,
        startedAtMs: Date.now(),
      };
      this.ctx.fault?.('after-spawn');
    } catch (err) {
      return this.finish({ exit: 'not-started', setupFailure: toFailure(err) }, cwd);
    }
    await this.moveTo('running', `supervisor pid ${this.entry.supervisor.pid}`);
    this.ctx.emit(this.key, { $case: 'running', running: { pid: this.entry.supervisor.pid } });
    if (this.entry.kill !== undefined) this.killTree();
    return this.supervise(cwd, ended);
  }

  private async resume(): Promise<JobResult> {
    const entry = this.entry;
    // Announce again where the job stands: an event lost in the crash is delivered now, and one
    // already delivered is dropped as a duplicate (same message id).
    if (entry.result !== undefined) {
      this.ctx.emit(this.key, { $case: 'result', result: entry.result });
      return entry.result;
    }
    if (entry.state === 'running' && entry.supervisor !== undefined) {
      this.ctx.emit(this.key, { $case: 'running', running: { pid: entry.supervisor.pid } });
    }
    if (entry.sandboxDigest !== undefined)
      this.sandbox = this.ctx.sandboxes.reference(entry.sandboxDigest);
    const cwd =
      entry.spec.runDir === '' ? this.paths.work : `${this.paths.work}/${entry.spec.runDir}`;
    switch (entry.state) {
      case 'accepted':
      case 'staging':
        // Nothing was spawned before `starting` was journaled: staging starts over.
        this.note('resumed', 'staging interrupted by an agent restart; starting over');
        return this.runFresh();
      case 'starting': {
        // The spawn may or may not have happened. Adopt a live supervisor; never start another.
        const found = processesByMarker(this.ctx.settings.markerVariable).get(entry.marker) ?? [];
        const leader = found.find((p) => p.pid === p.session);
        if (leader !== undefined) {
          entry.supervisor = {
            pid: leader.pid,
            startTicks: leader.startTicks,
            startedAtMs: entry.acceptedAtMs,
          };
          await this.moveTo('running', `adopted supervisor pid ${leader.pid} after a restart`);
          return this.supervise(cwd, undefined);
        }
        if (existsSync(this.paths.status)) {
          entry.supervisor = { pid: 0, startTicks: -1, startedAtMs: entry.acceptedAtMs };
          return this.supervise(cwd, undefined);
        }
        if (found.length > 0) this.killTree();
        // The supervisor leaves `<status>.started` before it forks the payload: without it and
        // without a live supervisor, no payload ever ran, and starting one now is the first copy.
        if (
          found.length === 0 &&
          !existsSync(startedFile(this.paths.status)) &&
          entry.kill === undefined
        ) {
          this.note('resumed', 'the agent stopped before the payload started; starting it now');
          return this.spawn(cwd);
        }
        return this.finish({ exit: 'vanished' }, cwd);
      }
      default:
        this.note('resumed', 're-attached after an agent restart');
        if (entry.kill !== undefined) this.killTree();
        return this.supervise(cwd, undefined);
    }
  }

  /** Watches limits until the supervisor ends, then finishes the job. */
  private async supervise(cwd: string, ended: Promise<Ending> | undefined): Promise<JobResult> {
    const sup = this.entry.supervisor;
    if (sup === undefined) throw new Error('supervise() without a supervisor');
    const spec = this.entry.spec;
    const s = this.ctx.settings;
    const walltimeS = [spec.limits?.walltimeS ?? 0, s.maxWalltimeS].filter((v) => v > 0);
    if (walltimeS.length > 0) {
      const leftMs = sup.startedAtMs + Math.min(...walltimeS) * 1000 - Date.now();
      const timer = setTimeout(
        () => void this.kill(KillReason.WALLTIME, `after ${Math.min(...walltimeS)} s`),
        Math.max(0, leftMs),
      );
      this.cleanups.push(() => clearTimeout(timer));
    }
    const heartbeat = setInterval(() => {
      this.ctx.emit(this.key, {
        $case: 'heartbeat',
        heartbeat: {
          usage: {
            cpuTimeMs: 0,
            wallTimeMs: Date.now() - sup.startedAtMs,
            maxRssBytes: this.peakRssBytes,
          },
        },
      });
    }, s.heartbeatIntervalMs);
    this.cleanups.push(() => clearInterval(heartbeat));
    if (sup.startTicks >= 0) {
      const unwatch = this.ctx.monitor.watch(
        {
          sessionId: sup.pid,
          startTicks: sup.startTicks,
          stdoutFile: this.paths.stdout,
          stderrFile: this.paths.stderr,
        },
        (sample) => this.onSample(sample),
      );
      this.cleanups.push(unwatch);
    }
    const exit = await waitForSupervisor(
      sup,
      this.paths.status,
      ended === undefined ? {} : { ended },
    );
    this.ctx.fault?.('after-exit');
    this.cleanups.splice(0).forEach((fn) => {
      fn();
    });
    this.ctx.emit(this.key, { $case: 'finishing', finishing: {} });
    // Grandchildren may outlive the payload (holding its stdout): none of the job may remain.
    await killJobTree(
      { supervisor: sup, markerVariable: s.markerVariable, marker: this.entry.marker },
      { graceMs: 0, log: this.log },
    );
    return this.finish({ exit, ...(this.entry.kill ? { kill: this.entry.kill } : {}) }, cwd);
  }

  private onSample(sample: Sample): void {
    this.peakRssBytes = Math.max(this.peakRssBytes, sample.rssBytes);
    const s = this.ctx.settings;
    const limitsMb = [this.entry.spec.limits?.memoryMb ?? 0, s.maxMemoryMb].filter((v) => v > 0);
    if (limitsMb.length > 0 && sample.rssBytes > Math.min(...limitsMb) * 1024 * 1024) {
      void this.kill(
        KillReason.MEMORY,
        `resident memory ${Math.round(sample.rssBytes / 1048576)} MB over the ${Math.min(...limitsMb)} MB limit`,
      );
    }
    const biggest = Math.max(sample.stdoutBytes, sample.stderrBytes);
    if (biggest > s.maxLogBytes && !this.logWarned) {
      this.logWarned = true;
      this.log.warn(
        { capBytes: s.maxLogBytes },
        'payload log passed its cap; the rest is neither shipped nor archived',
      );
      this.note('log-truncated', `log passed ${s.maxLogBytes} bytes`);
    }
    if (biggest > 2 * s.maxLogBytes)
      void this.kill(KillReason.LOG_TOO_LARGE, `a log passed ${2 * s.maxLogBytes} bytes`);
  }

  private errorDiag(): string {
    const error = readHead(this.paths.error, 64 * 1024);
    if (error !== '') {
      try {
        return (JSON.parse(error) as { last_line?: string }).last_line ?? '';
      } catch {}
    }
    return readTail(this.paths.stderr, 500).trim();
  }

  private async finish(outcome: Outcome, cwd: string | undefined): Promise<JobResult> {
    const spec = this.entry.spec;
    const exit: SupervisorExit | undefined =
      typeof outcome.exit === 'object' ? outcome.exit : undefined;
    const ran = exit !== undefined || outcome.exit === 'vanished';
    let outputs: JobResult['outputs'] = [];
    const uploads: PendingUpload[] = [];
    const stageOut = this.ctx.settings.stageOut;
    const preliminary = decideFailure(outcome);
    if (preliminary === undefined && cwd !== undefined) {
      const collected = await collectOutputs(spec.outputs, cwd, this.ctx.settings.maxOutputBytes);
      outputs = collected.outputs;
      if (collected.problem) outcome.outputProblem = toFailure(collected.problem);
      if (stageOut !== undefined) {
        const placed = placeOutputs(this.key, outputs, spec.outputs, stageOut);
        outputs = placed.outputs;
        uploads.push(...placed.uploads);
        if (placed.problem) outcome.outputProblem ??= toFailure(placed.problem);
      }
    }
    const failure = decideFailure(outcome);
    const startedAtMs = this.entry.supervisor?.startedAtMs ?? 0;
    const endedAtMs = exit?.endedAtMs ?? Date.now();
    const result: JobResult = {
      key: this.key,
      ...(exit?.exitCode !== undefined ? { exitCode: exit.exitCode } : {}),
      signal: exit?.signal ?? '',
      failure,
      killReason: this.entry.kill?.reason ?? KillReason.UNSPECIFIED,
      usage: {
        cpuTimeMs: exit?.cpuTimeMs ?? 0,
        wallTimeMs: startedAtMs > 0 ? endedAtMs - startedAtMs : 0,
        maxRssBytes: this.peakRssBytes,
      },
      returnValueJson: failure === undefined ? readReturnValue(this.paths.result) : '',
      outputs,
      log: undefined,
      startedAtMs,
      endedAtMs,
      errorDiag: ran && failure !== undefined ? this.errorDiag() : '',
    };
    if (failure !== undefined)
      this.log.info({ code: FailureCode[failure.code], reason: failure.message }, 'job failed');
    if (spec.log !== undefined && safeLogName(spec) && existsSync(this.paths.root)) {
      try {
        result.log = await writeLogArchive({
          log: spec.log,
          stdoutFile: this.paths.stdout,
          stderrFile: this.paths.stderr,
          maxLogBytes: this.ctx.settings.maxLogBytes,
          record: { key: this.key, history: this.entry.history, result: { ...result, failure } },
          ...(this.sandbox?.buildLogPath ? { buildLogFile: this.sandbox.buildLogPath } : {}),
          stagingDir: this.paths.logStaging,
          destDir: this.paths.root,
          ...(this.ctx.launcher ? { launcher: this.ctx.launcher } : {}),
        });
        if (stageOut !== undefined) {
          const placed = placeLogArchive(this.key, result.log, stageOut);
          result.log = placed.log;
          uploads.push(placed.upload);
        }
      } catch (err) {
        this.log.error({ err }, 'cannot write the log tarball');
      }
    }
    this.entry.uploads = uploads;
    this.entry.result = result;
    await this.moveTo('exited', failure === undefined ? 'finished' : `failed: ${failure.message}`);
    this.ctx.fault?.('after-result');
    this.ctx.emit(this.key, { $case: 'result', result });
    return result;
  }

  private cleanup(): void {
    for (const fn of this.cleanups.splice(0)) fn();
    this.sandbox?.release();
    this.sandbox = undefined;
  }
}
