/**
 * The agent's journal: one LevelDB record per job attempt, written with `sync: true` before any
 * step another process could observe (RELIABILITY.md I5) — above all before a payload is spawned,
 * so a restarted agent knows every payload it may have started and never starts a second copy
 * (I1, I3). The record holds what re-attaching needs: the supervisor's pid and start time and the
 * marker in the payload's environment.
 */
import { type Db, DURABLE, openDb, readPrefix } from '../shared/db.js';
import type { JobKey, KillReason } from '../shared/gen/pgc/v1/common.js';
import { JobResult, JobSpec } from '../shared/gen/pgc/v1/job.js';
import { attemptId } from '../shared/ids.js';
import type { PendingUpload } from './runner/stage-out.js';

/**
 * accepted → staging → starting → running → exited → published
 * `starting` is written before spawn and `running` once the supervisor's identity is known.
 */
export type LocalState = 'accepted' | 'staging' | 'starting' | 'running' | 'exited' | 'published';

export interface HistoryEntry {
  type: string;
  atMs: number;
  message: string;
}

export interface JournalEntry {
  key: JobKey;
  spec: JobSpec;
  state: LocalState;
  /** Value of the marker variable in the payload's environment. */
  marker: string;
  jobDir: string;
  acceptedAtMs: number;
  sandboxDigest?: string;
  supervisor?: { pid: number; startTicks: number; startedAtMs: number };
  kill?: { reason: KillReason; message: string; atMs: number };
  result?: JobResult;
  /** Object-store uploads the result announces; done before the result is published. */
  uploads?: PendingUpload[];
  history: HistoryEntry[];
}

/** When the attempt's result was delivered (its `published` note), or undefined. */
export function publishedAtMs(entry: JournalEntry): number | undefined {
  if (entry.state !== 'published') return undefined;
  for (let i = entry.history.length - 1; i >= 0; i--) {
    const note = entry.history[i];
    if (note?.type === 'published') return note.atMs;
  }
  return entry.acceptedAtMs;
}

/** The stored form: protobuf messages as their canonical JSON. */
type StoredEntry = Omit<JournalEntry, 'spec' | 'result'> & { spec: unknown; result?: unknown };

const PREFIX = 'job/';

export class Journal {
  private constructor(private readonly db: Db<StoredEntry>) {}

  static async open(
    dir: string,
    options: { allowNetworkFilesystem?: boolean } = {},
  ): Promise<Journal> {
    return new Journal(await openDb<StoredEntry>(dir, options));
  }

  async put(entry: JournalEntry): Promise<void> {
    const stored: StoredEntry = {
      ...entry,
      spec: JobSpec.toJSON(entry.spec),
      ...(entry.result ? { result: JobResult.toJSON(entry.result) } : {}),
    };
    await this.db.put(PREFIX + attemptId(entry.key), stored, DURABLE);
  }

  async get(key: JobKey): Promise<JournalEntry | undefined> {
    const stored = await this.db.get(PREFIX + attemptId(key));
    return stored === undefined ? undefined : revive(stored);
  }

  async all(): Promise<JournalEntry[]> {
    return (await readPrefix(this.db, PREFIX)).map(([, stored]) => revive(stored));
  }

  async delete(key: JobKey): Promise<void> {
    await this.db.del(PREFIX + attemptId(key), DURABLE);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function revive(stored: StoredEntry): JournalEntry {
  const { spec, result, ...rest } = stored;
  return {
    ...rest,
    spec: JobSpec.fromJSON(spec),
    ...(result === undefined ? {} : { result: JobResult.fromJSON(result) }),
  };
}
