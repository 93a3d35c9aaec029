/**
 * What a transition's effects become on disk, written in the same LevelDB batch as the record
 * (RELIABILITY.md I5): PanDA updates in the report outbox and commands for agents. Pure.
 *
 * The outbox keeps one entry per attempt, the newest: PanDA only needs a job's latest state
 * (`running` supersedes `starting`; the final update supersedes both), so a long outage leaves
 * a bounded outbox and each job's updates still reach PanDA in order.
 */
import { FailureCode } from '../shared/errors.js';
import type { JobKey, KillReason } from '../shared/gen/pgc/v1/common.js';
import { type Command, Command as CommandMessage } from '../shared/gen/pgc/v1/events.js';
import { type JobRecord, recordId } from './job-record.js';
import type { Effect, ReportKind } from './job-transition.js';
import { failedUpdate, finalUpdate, progressUpdate, type ReportContext } from './panda/report.js';
import type { UpdateJobParams } from './panda/wire-types.js';

export interface OutboxEntry {
  /** The attempt (recordId). */
  id: string;
  /** Grows each time a newer update replaces the entry, so a delivered older one is not deleted. */
  version: number;
  update: UpdateJobParams;
  /** The job's final word; PanDA's acknowledgement makes the record `reported`. */
  final: boolean;
  enqueuedAtMs: number;
  /** Failed deliveries of this entry (per-job PanDA errors). */
  attempts: number;
  /** Not sent before this time (per-entry retry backoff). */
  notBeforeMs: number;
}

export interface PendingCommand {
  commandId: string;
  endpointId: string;
  command: Command;
  createdAtMs: number;
}

/** The PanDA update for a report effect. */
export function buildUpdate(
  record: JobRecord,
  what: ReportKind,
  schedulerId: string,
  at: number,
): UpdateJobParams {
  const ctx: ReportContext = {
    siteName: record.queue,
    schedulerId,
    ...(record.endpointId ? { node: record.endpointId } : {}),
  };
  const { spec, result, failure } = record;
  if (what === 'failed' || spec === undefined || (what === 'final' && result === undefined)) {
    const why = failure ?? { code: FailureCode.INTERNAL, message: 'failed', retryable: false };
    return failedUpdate(record.key.pandaId, record.key.attemptNr, why, ctx, at);
  }
  if (what === 'final' && result !== undefined) return finalUpdate(spec, result, ctx);
  if (what === 'starting') return progressUpdate(spec, 'starting', ctx);
  return progressUpdate(spec, 'running', ctx, {
    ...(record.startedAtMs ? { startedAtMs: record.startedAtMs } : {}),
    ...(record.usage ? { usage: record.usage } : {}),
  });
}

/** The outbox entry after enqueuing `update`: replaces a pending one, never a final one. */
export function enqueue(
  existing: OutboxEntry | undefined,
  id: string,
  update: UpdateJobParams,
  final: boolean,
  at: number,
): OutboxEntry | undefined {
  if (existing?.final && !final) return undefined;
  return {
    id,
    version: (existing?.version ?? 0) + 1,
    update,
    final,
    enqueuedAtMs: existing?.enqueuedAtMs ?? at,
    attempts: 0,
    notBeforeMs: existing?.notBeforeMs ?? 0,
  };
}

/** A kill command for an attempt at an endpoint (Nats-Msg-Id = cmd.<commandId>). */
export function killCommand(
  key: JobKey,
  endpointId: string,
  reason: KillReason,
  message: string,
  commandId: string,
  at: number,
): PendingCommand {
  return {
    commandId,
    endpointId,
    createdAtMs: at,
    command: {
      commandId,
      atMs: at,
      body: { $case: 'kill', kill: { key, reason, message, graceMs: 0 } },
    },
  };
}

/** Outbox entries and commands for a transition's effects. */
export function effectRows(
  record: JobRecord,
  effects: readonly Effect[],
  pending: (id: string) => OutboxEntry | undefined,
  schedulerId: string,
  at: number,
): { entries: OutboxEntry[]; commands: PendingCommand[] } {
  const id = recordId(record.key);
  let entry: OutboxEntry | undefined = pending(id);
  let changed = false;
  const commands: PendingCommand[] = [];
  for (const effect of effects) {
    if (effect.type === 'kill') {
      const { endpointId, reason, message, commandId } = effect;
      commands.push(killCommand(record.key, endpointId, reason, message, commandId, at));
      continue;
    }
    const final = effect.what === 'final' || effect.what === 'failed';
    const next = enqueue(entry, id, buildUpdate(record, effect.what, schedulerId, at), final, at);
    if (next !== undefined) {
      entry = next;
      changed = true;
    }
  }
  return { entries: changed && entry ? [entry] : [], commands };
}

export const storedCommand = {
  toJSON: (c: PendingCommand): unknown => ({ ...c, command: CommandMessage.toJSON(c.command) }),
  fromJSON: (v: unknown): PendingCommand => {
    const raw = v as PendingCommand & { command: unknown };
    return { ...raw, command: CommandMessage.fromJSON(raw.command) };
  },
};
