/** Which store entries to evict, with no I/O: least recently used first, never a referenced one. */

export interface StoreEntryInfo {
  digest: string;
  /** Disk usage of the entry (allocated blocks). */
  sizeBytes: number;
  /** Last install, reference or release, in ms since the epoch. */
  lastUsedMs: number;
}

export interface EvictionPlan {
  /** Digests to remove, oldest first. */
  victims: string[];
  totalBytes: number;
  /** Size of the store once the victims are gone. */
  remainingBytes: number;
  /** True if the store stays above quota because referenced entries alone exceed it. */
  overQuota: boolean;
}

export function chooseEvictions(
  entries: readonly StoreEntryInfo[],
  quotaBytes: number,
  isReferenced: (digest: string) => boolean,
): EvictionPlan {
  const totalBytes = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  let remainingBytes = totalBytes;
  const victims: string[] = [];
  const candidates = entries
    .filter((e) => !isReferenced(e.digest))
    .sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.digest.localeCompare(b.digest));
  for (const entry of candidates) {
    if (remainingBytes <= quotaBytes) break;
    victims.push(entry.digest);
    remainingBytes -= entry.sizeBytes;
  }
  return { victims, totalBytes, remainingBytes, overQuota: remainingBytes > quotaBytes };
}
