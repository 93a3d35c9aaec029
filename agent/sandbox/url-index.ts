/**
 * URL → digest index. PanDA cache names are immutable (except `.__ow__` names, which never get
 * here), so once a URL has been fetched its digest is known and a later install of the same URL
 * is a cache hit with no network. Kept in memory for the fast path and on disk, one small file
 * per URL written by rename, so restarts and other processes on the same root see it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DIGEST_RE } from './store-layout.js';

interface IndexRecord {
  url: string;
  digest: string;
  recordedAt: string;
}

export class UrlIndex {
  private readonly memory = new Map<string, string>();

  constructor(private readonly dir: string) {}

  /** The digest known in memory, with no I/O (the cache-hit path). */
  get(url: string): string | undefined {
    return this.memory.get(url);
  }

  /** Memory first, then the file another process or an earlier run may have written. */
  async lookup(url: string): Promise<string | undefined> {
    const known = this.memory.get(url);
    if (known !== undefined) return known;
    try {
      const record = JSON.parse(await readFile(this.file(url), 'utf8')) as Partial<IndexRecord>;
      if (
        record.url !== url ||
        typeof record.digest !== 'string' ||
        !DIGEST_RE.test(record.digest)
      ) {
        return undefined;
      }
      this.memory.set(url, record.digest);
      return record.digest;
    } catch {
      return undefined;
    }
  }

  async record(url: string, digest: string): Promise<void> {
    this.memory.set(url, digest);
    const record: IndexRecord = { url, digest, recordedAt: new Date().toISOString() };
    const target = this.file(url);
    const temp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      await rename(temp, target);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  /** Forgets URLs that point at a digest that is gone (memory only; files are checked on use). */
  forgetDigest(digest: string): void {
    for (const [url, known] of this.memory) if (known === digest) this.memory.delete(url);
  }

  /** Removes the records of URLs whose digest is gone from the store (after an eviction). */
  async prune(inStore: (digest: string) => Promise<boolean>): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.dir, name);
      const record = await readFile(path, 'utf8')
        .then((text) => JSON.parse(text) as Partial<IndexRecord>)
        .catch(() => undefined);
      const digest = record?.digest;
      if (typeof digest === 'string' && DIGEST_RE.test(digest) && (await inStore(digest))) continue;
      if (typeof record?.url === 'string') this.memory.delete(record.url);
      await unlink(path).catch(() => undefined);
    }
  }

  private file(url: string): string {
    return join(this.dir, `${createHash('sha256').update(url).digest('hex')}.json`);
  }
}
