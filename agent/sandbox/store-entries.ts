/**
 * Reading and recording facts about store entries: the metadata written at install time, the
 * last use (the entry directory's mtime, touched on every install, reference and release, so it
 * survives restarts), and the listing that eviction works from.
 */
import { utimesSync } from 'node:fs';
import { readdir, readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreEntryInfo } from './lru.js';
import { DIGEST_RE, type StoreLayout } from './store-layout.js';

/** store/<digest>/meta.json */
export interface EntryMeta {
  digest: string;
  /** Allocated bytes of the tree (and build log). */
  sizeBytes: number;
  files: number;
  dirs: number;
  installedAt: string;
  /** The URL it was first installed from, for humans reading the store. */
  url: string;
  built: boolean;
}

export function metaPath(layout: StoreLayout, digest: string): string {
  return join(layout.entryDir(digest), 'meta.json');
}

export async function readMeta(
  layout: StoreLayout,
  digest: string,
): Promise<EntryMeta | undefined> {
  try {
    const parsed = JSON.parse(
      await readFile(metaPath(layout, digest), 'utf8'),
    ) as Partial<EntryMeta>;
    if (typeof parsed.sizeBytes !== 'number' || parsed.digest !== digest) return undefined;
    return parsed as EntryMeta;
  } catch {
    return undefined;
  }
}

/** The synchronous form, for release() and reference(), whose API is synchronous. */
export function touchEntrySync(layout: StoreLayout, digest: string): boolean {
  const now = new Date();
  try {
    utimesSync(layout.entryDir(digest), now, now);
    return true;
  } catch {
    return false;
  }
}

/** Records a use of the entry; false if the entry does not exist (evicted, never installed). */
export async function touchEntry(layout: StoreLayout, digest: string): Promise<boolean> {
  const now = new Date();
  try {
    await utimes(layout.entryDir(digest), now, now);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every entry with its size and last use. An entry whose metadata cannot be read is listed with
 * the oldest possible last use, so it goes first (it can only be a damaged entry).
 */
export async function listEntries(layout: StoreLayout): Promise<StoreEntryInfo[]> {
  const names = await readdir(layout.store).catch(() => [] as string[]);
  const entries: StoreEntryInfo[] = [];
  for (const digest of names) {
    if (!DIGEST_RE.test(digest)) continue;
    const info = await stat(layout.entryDir(digest)).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) continue;
    const meta = await readMeta(layout, digest);
    entries.push({
      digest,
      sizeBytes: meta?.sizeBytes ?? 0,
      lastUsedMs: meta === undefined ? 0 : info.mtimeMs,
    });
  }
  return entries;
}
