/**
 * Job directories are kept `keepJobDirHours` after the attempt's result was published (its
 * outputs and logs are safe in the object store or in outputsDir by then), then removed: one
 * sweep when the agent starts and one every `intervalMs`. Nothing of an unpublished attempt is
 * ever removed. Removal does not follow links (`work/` holds links into the shared sandbox
 * store), and only directories under the agent's own jobs directory are touched.
 */
import { existsSync, rmSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { PublishedAttempt } from './agent-core.js';

export interface JobDirRetentionOptions {
  /** The directory every job directory sits in (`<stateDir>/jobs`). */
  jobsRoot: string;
  keepMs: number;
  published: () => PublishedAttempt[];
  log: Logger;
  /** Between sweeps; default a quarter of keepMs, between 100 ms and 10 min. */
  intervalMs?: number;
  now?: () => number;
}

export class JobDirRetention {
  private timer: NodeJS.Timeout | undefined;
  /** Directories this process removed or found gone, not looked at again. */
  private readonly gone = new Set<string>();

  constructor(private readonly options: JobDirRetentionOptions) {}

  /** Sweeps now and then periodically. */
  start(): void {
    this.sweep();
    const every =
      this.options.intervalMs ?? Math.min(600_000, Math.max(100, this.options.keepMs / 4));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  /** Removes the directories whose time is up; returns how many. */
  sweep(): number {
    const now = (this.options.now ?? Date.now)();
    const root = resolve(this.options.jobsRoot);
    let removed = 0;
    for (const attempt of this.options.published()) {
      if (attempt.publishedAtMs + this.options.keepMs > now) continue;
      const dir = resolve(attempt.jobDir);
      if (this.gone.has(dir)) continue;
      if (!dir.startsWith(root + sep) || !existsSync(dir)) {
        this.gone.add(dir);
        continue;
      }
      try {
        rmSync(dir, { recursive: true, force: true });
        this.gone.add(dir);
        removed++;
        this.options.log.debug(
          { pandaId: attempt.key.pandaId, attemptNr: attempt.key.attemptNr, dir },
          'job directory removed',
        );
      } catch (err) {
        this.options.log.warn({ dir, err: describeError(err) }, 'cannot remove a job directory');
      }
    }
    return removed;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
