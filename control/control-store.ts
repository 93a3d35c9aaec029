/**
 * The control plane's durable state in one LevelDB (RELIABILITY.md I5): job records, the report
 * outbox, pending agent commands, endpoint leases, raw jobs just acquired, and a liveness clock.
 * Every change runs the pure transition and writes the record together with its effects in one
 * `sync` batch, before anyone is told; writes are serialised, so two changes of one record never
 * interleave. Records that are final and reported leave memory (they stay on disk).
 *
 *   job:<attempt>  record          out:<attempt>  outbox entry     cmd:<id>  pending command
 *   ep:<endpoint>  lease row       acq:<batch>.<n> raw PanDA job    meta:clock {aliveAtMs}
 *   drain:<endpoint> operator drain (pgc drain)
 *
 * Admin reads (pgc jobs, pgc job) scan `job:` on disk, which holds every record, including the
 * reported ones that left memory; a record is on disk before it is in memory.
 */
import { EventEmitter } from 'node:events';
import type { BatchOperation } from 'level';
import { type Db, DURABLE, openDb, readPrefix } from '../shared/db.js';
import type { JobKey } from '../shared/gen/pgc/v1/common.js';
import { attemptId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { ActiveRecords, type BoundUsage } from './active-records.js';
import {
  fromStored,
  isActive,
  type JobRecord,
  type JobState,
  recordId,
  toStored,
} from './job-record.js';
import { type RecordEvent, type Transition, transition } from './job-transition.js';
import type { EndpointRow } from './lease.js';
import { effectRows, type OutboxEntry, type PendingCommand, storedCommand } from './outbox.js';
import type { RawPandaJob } from './panda/job-fields.js';

export interface RawIntake {
  id: string;
  queue: string;
  job: RawPandaJob;
  atMs: number;
}

type Op = BatchOperation<Db, string, unknown>;

/** An endpoint an operator drained: no new dispatches to it until undrained. */
export interface DrainRow {
  endpointId: string;
  drainedAtMs: number;
}

export interface StoreOptions {
  schedulerId: string;
  log: Logger;
  allowNetworkFilesystem?: boolean;
}

/** What changed in a write, so components waiting on it can look again. */
export interface StoreChange {
  jobs: boolean;
  outbox: boolean;
  commands: boolean;
  /** Records whose state changed in the write (`from` undefined: new), for metrics. */
  moved: ReadonlyArray<{ record: JobRecord; from: JobState | undefined }>;
}

export class ControlStore {
  /** Active records only (final and reported ones stay on disk), indexed for the scheduler. */
  private readonly records = new ActiveRecords();
  readonly outbox = new Map<string, OutboxEntry>();
  readonly commands = new Map<string, PendingCommand>();
  readonly endpoints = new Map<string, EndpointRow>();
  readonly rawIntake = new Map<string, RawIntake>();
  readonly drains = new Map<string, DrainRow>();
  lastAliveMs: number | undefined;
  private readonly changes = new EventEmitter<{ change: [StoreChange] }>();
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Db,
    private readonly options: StoreOptions,
  ) {}

  static async open(dir: string, options: StoreOptions): Promise<ControlStore> {
    const db = await openDb(dir, { allowNetworkFilesystem: options.allowNetworkFilesystem });
    const store = new ControlStore(db, options);
    try {
      await store.load();
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  private async load(): Promise<void> {
    // One record at a time: `job:` holds every record ever (100,000s), but only the active few
    // stay in memory, so reading the prefix whole made the start-up peak RSS grow with the
    // history on disk (bench/scenarios/control-footprint.ts: 767 MiB peak vs 251 MiB steady).
    for await (const [, value] of this.db.iterator({ gte: 'job:', lt: 'job:\xff' })) {
      const stored = value as Parameters<typeof fromStored>[0];
      if (isActive(stored)) this.records.put(fromStored(stored));
    }
    for (const [, v] of await readPrefix(this.db, 'out:'))
      this.outbox.set((v as OutboxEntry).id, v as OutboxEntry);
    for (const [, v] of await readPrefix(this.db, 'cmd:')) {
      const command = storedCommand.fromJSON(v);
      this.commands.set(command.commandId, command);
    }
    for (const [, v] of await readPrefix(this.db, 'ep:'))
      this.endpoints.set((v as EndpointRow).endpointId, v as EndpointRow);
    for (const [, v] of await readPrefix(this.db, 'acq:'))
      this.rawIntake.set((v as RawIntake).id, v as RawIntake);
    for (const [, v] of await readPrefix(this.db, 'drain:'))
      this.drains.set((v as DrainRow).endpointId, v as DrainRow);
    const clock = (await this.db.get('meta:clock')) as { aliveAtMs?: number } | undefined;
    this.lastAliveMs = clock?.aliveAtMs;
  }

  onChange(listener: (change: StoreChange) => void): void {
    this.changes.on('change', listener);
  }

  get(id: string): JobRecord | undefined {
    return this.records.get(id);
  }

  active(): JobRecord[] {
    return [...this.records.values()];
  }

  /** Queued records, oldest first: the scheduler's input. */
  queued(): JobRecord[] {
    return this.records
      .queued()
      .sort(
        (a, b) => a.createdAtMs - b.createdAtMs || (recordId(a.key) < recordId(b.key) ? -1 : 1),
      );
  }

  /** Records bound to an endpoint (dispatched…finishing); O(its records), from an index. */
  bound(endpointId: string): JobRecord[] {
    return this.records.bound(endpointId);
  }

  /** Slots and memory the records bound to an endpoint take, without copying them. */
  boundUsage(endpointId: string): BoundUsage {
    return this.records.boundUsage(endpointId);
  }

  /**
   * Every record on disk (active or long reported) in attempt order — PanDA id, then attempt —
   * starting after the attempt id `after`. Reads a snapshot; concurrent writes are not seen.
   */
  async *allRecords(after?: string): AsyncGenerator<JobRecord> {
    const range = after === undefined ? { gte: 'job:' } : { gt: `job:${after}` };
    for await (const [, value] of this.db.iterator({ ...range, lt: 'job:\xff' }))
      yield fromStored(value as Parameters<typeof fromStored>[0]);
  }

  /** The newest attempt of a PanDA job, active or not; undefined when none was ever here. */
  async latestAttempt(pandaId: number): Promise<JobRecord | undefined> {
    const prefix = `job:${attemptId({ pandaId, attemptNr: 0 }).split('.')[0]}.`;
    const [entry] = await this.db
      .iterator({ gte: prefix, lt: `${prefix}\xff`, reverse: true, limit: 1 })
      .all();
    if (entry === undefined) return undefined;
    const stored = fromStored(entry[1] as Parameters<typeof fromStored>[0]);
    // The memory copy is never older than the disk one; prefer it for an active record.
    return this.records.get(recordId(stored.key)) ?? stored;
  }

  /** Drains (or undrains) an endpoint, durably: a control-plane restart keeps it drained. */
  saveDrain(endpointId: string, drained: boolean, atMs: number): Promise<void> {
    return this.serial(async () => {
      if (drained) {
        const row = this.drains.get(endpointId) ?? { endpointId, drainedAtMs: atMs };
        await this.db.put(`drain:${endpointId}`, row, DURABLE);
        this.drains.set(endpointId, row);
      } else {
        await this.db.del(`drain:${endpointId}`, DURABLE);
        this.drains.delete(endpointId);
      }
    });
  }

  /** Runs `fn` after every earlier write finished; writes never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Applies one event to the record of `key`; undefined when the attempt is not active here. */
  async apply(key: JobKey, event: RecordEvent): Promise<Transition | undefined> {
    const [result] = await this.applyMany([{ key, event }]);
    return result;
  }

  /** Applies events in order and writes every change, with its effects, in one sync batch. */
  applyMany(
    items: readonly { key: JobKey; event: RecordEvent }[],
  ): Promise<Array<Transition | undefined>> {
    return this.serial(async () => {
      const working = new Map<string, JobRecord>();
      const entries = new Map<string, OutboxEntry>();
      const results: Array<Transition | undefined> = [];
      const commands: PendingCommand[] = [];
      for (const { key, event } of items) {
        const id = recordId(key);
        const record = working.get(id) ?? this.records.get(id);
        const result = record === undefined ? undefined : transition(record, event);
        results.push(result);
        if (!result?.applied) continue;
        working.set(id, result.record);
        const rows = effectRows(
          result.record,
          result.effects,
          this.pendingIn(entries),
          this.options.schedulerId,
          event.at,
        );
        for (const entry of rows.entries) entries.set(entry.id, entry);
        commands.push(...rows.commands);
      }
      await this.commit([...working.values()], [...entries.values()], commands, []);
      return results;
    });
  }

  /** Adds new records (acquired or untranslatable) and forgets the raw jobs they came from. */
  create(created: readonly Transition[], rawIds: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const entries = new Map<string, OutboxEntry>();
      const fresh = created.filter((t) => !this.records.has(recordId(t.record.key)));
      for (const t of fresh) {
        const rows = effectRows(
          t.record,
          t.effects,
          this.pendingIn(entries),
          this.options.schedulerId,
          t.record.createdAtMs,
        );
        for (const entry of rows.entries) entries.set(entry.id, entry);
      }
      await this.commit(
        fresh.map((t) => t.record),
        [...entries.values()],
        [],
        rawIds,
      );
    });
  }

  /** The pending outbox entry of an attempt, as changed by the write being prepared. */
  private pendingIn(
    changed: ReadonlyMap<string, OutboxEntry>,
  ): (id: string) => OutboxEntry | undefined {
    return (id) => changed.get(id) ?? this.outbox.get(id);
  }

  private async commit(
    records: readonly JobRecord[],
    entries: readonly OutboxEntry[],
    commands: readonly PendingCommand[],
    rawIds: readonly string[],
  ): Promise<void> {
    const ops: Op[] = records.map((r) => ({
      type: 'put',
      key: `job:${recordId(r.key)}`,
      value: toStored(r),
    }));
    for (const e of entries) ops.push({ type: 'put', key: `out:${e.id}`, value: e });
    for (const c of commands)
      ops.push({ type: 'put', key: `cmd:${c.commandId}`, value: storedCommand.toJSON(c) });
    for (const id of rawIds) ops.push({ type: 'del', key: `acq:${id}` });
    if (ops.length === 0) return;
    await this.db.batch(ops, DURABLE);
    const moved = records
      .map((record) => ({ record, from: this.records.get(recordId(record.key))?.state }))
      .filter((m) => m.from !== m.record.state);
    for (const r of records) this.records.put(r);
    for (const e of entries) this.outbox.set(e.id, e);
    for (const c of commands) this.commands.set(c.commandId, c);
    for (const id of rawIds) this.rawIntake.delete(id);
    this.changes.emit('change', {
      jobs: records.length > 0,
      outbox: entries.length > 0,
      commands: commands.length > 0,
      moved,
    });
  }

  /** Persists the raw jobs of an acquire_jobs reply before anything else happens to them. */
  saveRawIntake(entries: readonly RawIntake[]): Promise<void> {
    return this.serial(async () => {
      await this.db.batch(
        entries.map((e): Op => ({ type: 'put', key: `acq:${e.id}`, value: e })),
        DURABLE,
      );
      for (const e of entries) this.rawIntake.set(e.id, e);
    });
  }

  /**
   * PanDA took an outbox entry: remove it unless a newer update replaced it meanwhile, and apply
   * `event` (e.g. `reported`) to the record in the same write.
   */
  outboxDelivered(id: string, version: number, event?: RecordEvent): Promise<void> {
    return this.serial(async () => {
      const entry = this.outbox.get(id);
      const ops: Op[] = [];
      const removed = entry !== undefined && entry.version === version;
      if (removed) ops.push({ type: 'del', key: `out:${id}` });
      const record = this.records.get(id);
      const result = record && event ? transition(record, event) : undefined;
      if (result?.applied)
        ops.push({ type: 'put', key: `job:${id}`, value: toStored(result.record) });
      if (ops.length === 0) return;
      await this.db.batch(ops, DURABLE);
      if (removed) this.outbox.delete(id);
      if (result?.applied) this.records.put(result.record);
    });
  }

  /** Keeps an entry for later (a transient per-job error), unless it was replaced meanwhile. */
  outboxRetry(id: string, version: number, attempts: number, notBeforeMs: number): Promise<void> {
    return this.serial(async () => {
      const entry = this.outbox.get(id);
      if (entry === undefined || entry.version !== version) return;
      const next = { ...entry, attempts, notBeforeMs };
      await this.db.put(`out:${id}`, next, DURABLE);
      this.outbox.set(id, next);
    });
  }

  /** Commands that belong to no record (fences of attempts unknown here). */
  addCommands(commands: readonly PendingCommand[]): Promise<void> {
    return this.serial(() => this.commit([], [], commands, []));
  }

  commandPublished(commandId: string): Promise<void> {
    return this.serial(async () => {
      await this.db.del(`cmd:${commandId}`, DURABLE);
      this.commands.delete(commandId);
    });
  }

  saveEndpoint(row: EndpointRow): Promise<void> {
    return this.serial(async () => {
      await this.db.put(`ep:${row.endpointId}`, row, DURABLE);
      this.endpoints.set(row.endpointId, row);
    });
  }

  /** The control plane was alive at `atMs` (lease clock, lease.ts). Not synced: a hint. */
  saveClock(atMs: number): Promise<void> {
    return this.serial(async () => {
      await this.db.put('meta:clock', { aliveAtMs: atMs });
      this.lastAliveMs = atMs;
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => undefined);
    await this.db.close();
  }
}
