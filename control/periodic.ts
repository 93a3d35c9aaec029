/**
 * A task run every `intervalMs`, never overlapping itself, stopped cleanly: `stop()` waits for
 * a run in progress. Errors are logged and the next run comes on schedule.
 */
import type { Logger } from '../shared/logger.js';

export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: (signal: AbortSignal) => Promise<void>,
    private readonly log: Logger,
    private readonly abort = new AbortController(),
  ) {}

  start(runNow = false): void {
    if (runNow) this.run();
    else this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.run(), this.intervalMs);
  }

  private run(): void {
    this.current = this.task(this.abort.signal)
      .catch((err: unknown) => {
        if (!this.abort.signal.aborted)
          this.log.error({ err, task: this.name }, 'periodic task failed');
      })
      .finally(() => this.schedule());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.current;
  }
}
