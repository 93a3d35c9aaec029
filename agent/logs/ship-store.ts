/**
 * Where log shipping stands, per attempt and stream: the last window planned and whether
 * JetStream acknowledged all its chunks. A window is recorded (`sync`) before any of its chunks
 * is published, so that a restarted agent publishes exactly the same chunks again (same seq,
 * offset and bytes, same message id) rather than differently cut ones under seqs a reader may
 * already hold (RELIABILITY.md I5). One synced write per window (up to a few MiB), not per
 * 64 KiB chunk: the fsync was most of the time a chunk took.
 */
import { type Db, DURABLE, openDb, readPrefix } from '../../shared/db.js';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import type { LogStream } from '../../shared/gen/pgc/v1/events.js';
import { attemptId } from '../../shared/ids.js';
import type { PlannedWindow } from './chunk-plan.js';

export interface RecordedWindow extends PlannedWindow {
  acked: boolean;
}

/**
 * Agents before windows recorded one chunk without `chunkBytes`: that chunk is a window of
 * one, so an upgraded agent resumes it unchanged.
 */
function fromStored(stored: RecordedWindow | undefined): RecordedWindow | undefined {
  if (stored === undefined || stored.chunkBytes > 0) return stored;
  return { ...stored, chunkBytes: Math.max(1, stored.length) };
}

const PREFIX = 'chunk/';

function dbKey(key: JobKey, stream: LogStream): string {
  return `${PREFIX}${attemptId(key)}/${stream}`;
}

export class LogShipStore {
  private constructor(private readonly db: Db<RecordedWindow>) {}

  static async open(
    dir: string,
    options: { allowNetworkFilesystem?: boolean } = {},
  ): Promise<LogShipStore> {
    return new LogShipStore(await openDb<RecordedWindow>(dir, options));
  }

  async get(key: JobKey, stream: LogStream): Promise<RecordedWindow | undefined> {
    return fromStored(await this.db.get(dbKey(key, stream)));
  }

  /** Durable before any chunk of the window is published. */
  planned(key: JobKey, stream: LogStream, window: PlannedWindow): Promise<void> {
    return this.db.put(dbKey(key, stream), { ...window, acked: false }, DURABLE);
  }

  /** Not synced: if lost, the same chunks are published once more and deduplicated. */
  acked(key: JobKey, stream: LogStream, window: PlannedWindow): Promise<void> {
    return this.db.put(dbKey(key, stream), { ...window, acked: true });
  }

  /** Forgets an attempt once its result is delivered. */
  forget(key: JobKey): Promise<void> {
    return this.forgetAttempt(attemptId(key));
  }

  /** Attempt ids (attemptId form) that have records. */
  async attempts(): Promise<string[]> {
    const ids = new Set<string>();
    for (const [k] of await readPrefix(this.db, PREFIX))
      ids.add(k.slice(PREFIX.length, k.lastIndexOf('/')));
    return [...ids];
  }

  async forgetAttempt(id: string): Promise<void> {
    const prefix = `${PREFIX}${id}/`;
    const keys = await this.db.keys({ gte: prefix, lt: `${prefix}\xff` }).all();
    await this.db.batch(keys.map((k) => ({ type: 'del' as const, key: k })));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
