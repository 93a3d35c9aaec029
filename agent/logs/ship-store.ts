/**
 * Where log shipping stands, per attempt and stream: the last chunk planned and whether JetStream
 * acknowledged it. A chunk is recorded (`sync`) before it is published, so that a restarted
 * agent publishes exactly the same chunk again (same seq, offset and bytes, same message id)
 * rather than a differently cut one under a seq a reader may already hold (RELIABILITY.md I5).
 */
import { type Db, DURABLE, openDb, readPrefix } from '../../shared/db.js';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import type { LogStream } from '../../shared/gen/pgc/v1/events.js';
import { attemptId } from '../../shared/ids.js';
import type { PlannedChunk } from './chunk-plan.js';

export interface RecordedChunk extends PlannedChunk {
  acked: boolean;
}

const PREFIX = 'chunk/';

function dbKey(key: JobKey, stream: LogStream): string {
  return `${PREFIX}${attemptId(key)}/${stream}`;
}

export class LogShipStore {
  private constructor(private readonly db: Db<RecordedChunk>) {}

  static async open(
    dir: string,
    options: { allowNetworkFilesystem?: boolean } = {},
  ): Promise<LogShipStore> {
    return new LogShipStore(await openDb<RecordedChunk>(dir, options));
  }

  get(key: JobKey, stream: LogStream): Promise<RecordedChunk | undefined> {
    return this.db.get(dbKey(key, stream));
  }

  /** Durable before the chunk is published. */
  planned(key: JobKey, stream: LogStream, chunk: PlannedChunk): Promise<void> {
    return this.db.put(dbKey(key, stream), { ...chunk, acked: false }, DURABLE);
  }

  /** Not synced: if lost, the same chunk is published once more and deduplicated. */
  acked(key: JobKey, stream: LogStream, chunk: PlannedChunk): Promise<void> {
    return this.db.put(dbKey(key, stream), { ...chunk, acked: true });
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
