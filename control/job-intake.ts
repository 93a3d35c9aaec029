/**
 * Jobs from acquire_jobs become records. PanDA moved them to `sent` as it handed them out, so
 * each raw job is persisted (sync) before anything else happens to it: a crash afterwards
 * finds it on disk and takes it in at the next start. Each job is then translated on its own;
 * one that cannot run is failed at once and PanDA is told, and the rest of the batch goes on.
 */
import { randomUUID } from 'node:crypto';
import { FailureCode } from '../shared/errors.js';
import type { Failure } from '../shared/gen/pgc/v1/common.js';
import type { Logger } from '../shared/logger.js';
import type { ControlStore, RawIntake } from './control-store.js';
import { acquiredRecord, type Transition, untranslatableRecord } from './job-transition.js';
import { intField, type RawPandaJob } from './panda/job-fields.js';
import { TranslationError, translatePandaJob } from './panda/translate.js';

export interface IntakeOptions {
  inputUrlTemplates: readonly string[];
  log: Logger;
  now: () => number;
}

function keyOf(job: RawPandaJob, err: unknown): { pandaId?: number; attemptNr?: number } {
  if (err instanceof TranslationError) return { pandaId: err.pandaId, attemptNr: err.attemptNr };
  const read = (field: string): number | undefined => {
    try {
      return intField(job, field);
    } catch {
      return undefined;
    }
  };
  return { pandaId: read('PandaID'), attemptNr: read('attemptNr') };
}

export class JobIntake {
  constructor(
    private readonly store: ControlStore,
    private readonly options: IntakeOptions,
  ) {}

  /** Persists and takes in the jobs of one acquire_jobs reply. */
  async take(queue: string, jobs: readonly RawPandaJob[]): Promise<void> {
    const batch = randomUUID();
    const at = this.options.now();
    const entries: RawIntake[] = jobs.map((job, i) => ({
      id: `${batch}.${String(i).padStart(5, '0')}`,
      queue,
      job,
      atMs: at,
    }));
    await this.store.saveRawIntake(entries);
    await this.translate(entries);
  }

  /** Takes in raw jobs a crash left on disk. */
  async recover(): Promise<void> {
    const left = [...this.store.rawIntake.values()];
    if (left.length === 0) return;
    this.options.log.warn({ jobs: left.length }, 'taking in jobs acquired before a crash');
    await this.translate(left);
  }

  private async translate(entries: readonly RawIntake[]): Promise<void> {
    const { log, inputUrlTemplates } = this.options;
    const at = this.options.now();
    const created: Transition[] = [];
    for (const entry of entries) {
      try {
        const spec = translatePandaJob(entry.job, { queue: entry.queue, inputUrlTemplates });
        const key = spec.key ?? { pandaId: 0, attemptNr: 0 };
        created.push({
          record: acquiredRecord(key, entry.queue, spec, at),
          effects: [],
          applied: true,
        });
      } catch (err) {
        const { pandaId, attemptNr } = keyOf(entry.job, err);
        const message = err instanceof Error ? err.message : String(err);
        if (pandaId === undefined || pandaId <= 0 || attemptNr === undefined || attemptNr < 0) {
          log.error(
            { queue: entry.queue, reason: message },
            'PanDA handed out a job without a usable PandaID/attemptNr; it cannot even be reported',
          );
          continue;
        }
        const failure: Failure = { code: FailureCode.BAD_JOB, message, retryable: false };
        log.warn({ pandaId, attemptNr, reason: message }, 'untranslatable job: failed at once');
        created.push(untranslatableRecord({ pandaId, attemptNr }, entry.queue, failure, at));
      }
    }
    await this.store.create(
      created,
      entries.map((e) => e.id),
    );
    if (created.length > 0)
      log.info(
        { jobs: created.map((t) => t.record.key.pandaId), queue: entries[0]?.queue },
        'jobs taken in',
      );
  }
}
