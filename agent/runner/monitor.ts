/**
 * Resource sampling for every running job from one /proc scan per tick: the resident memory of
 * the job's whole process tree (its session and group) and the size of its log files. The job
 * runner decides what a sample means (memory limit, log cap); the monitor only measures.
 */
import { statSync } from 'node:fs';
import type { Logger } from '../../shared/logger.js';
import { type ProcStat, scanProcesses } from '../proc.js';

export interface WatchTarget {
  sessionId: number;
  startTicks: number;
  stdoutFile: string;
  stderrFile: string;
}

export interface Sample {
  rssBytes: number;
  processes: number;
  stdoutBytes: number;
  stderrBytes: number;
}

type Watcher = { target: WatchTarget; onSample: (sample: Sample) => void };

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export class ResourceMonitor {
  private readonly watchers = new Set<Watcher>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Calls `onSample` every tick until the returned function is called. */
  watch(target: WatchTarget, onSample: (sample: Sample) => void): () => void {
    const watcher: Watcher = { target, onSample };
    this.watchers.add(watcher);
    this.timer ??= setInterval(() => this.tick(), this.intervalMs);
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0 && this.timer !== undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** One scan of /proc, shared by all watchers. */
  tick(): void {
    let table: ProcStat[];
    try {
      table = scanProcesses();
    } catch (err) {
      this.log.warn({ err }, 'cannot scan /proc');
      return;
    }
    for (const { target, onSample } of this.watchers) {
      // A supervisor that ended and whose pid now names another process has no tree to measure.
      const holder = table.find((p) => p.pid === target.sessionId);
      if (holder !== undefined && holder.startTicks !== target.startTicks) continue;
      let rssBytes = 0;
      let processes = 0;
      for (const p of table) {
        if (
          (p.session === target.sessionId || p.pgrp === target.sessionId) &&
          p.startTicks >= target.startTicks
        ) {
          rssBytes += p.rssBytes;
          processes++;
        }
      }
      onSample({
        rssBytes,
        processes,
        stdoutBytes: fileSize(target.stdoutFile),
        stderrBytes: fileSize(target.stderrFile),
      });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watchers.clear();
  }
}
