/**
 * Checksums PanDA and Rucio use: adler32 as 8 lowercase hex digits, zero-padded (Harvester
 * core_utils.calc_adler32), and sha256 for our own content addressing. Computed while streaming,
 * so a large file is read once and never held in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

const MOD_ADLER = 65521;
// The largest run of bytes whose sums cannot overflow 2^53 before the modulo (zlib uses 5552
// for 32-bit arithmetic; doubles allow far more, which keeps the loop tight).
const NMAX = 1 << 20;

/** Incremental adler32: feed chunks with update(), read the result with hex(). */
export class Adler32 {
  private a = 1;
  private b = 0;

  update(chunk: Uint8Array): this {
    let { a, b } = this;
    for (let start = 0; start < chunk.length; start += NMAX) {
      const end = Math.min(chunk.length, start + NMAX);
      for (let i = start; i < end; i++) {
        a += chunk[i] as number;
        b += a;
      }
      a %= MOD_ADLER;
      b %= MOD_ADLER;
    }
    this.a = a;
    this.b = b;
    return this;
  }

  value(): number {
    return ((this.b << 16) | this.a) >>> 0;
  }

  hex(): string {
    return this.value().toString(16).padStart(8, '0');
  }
}

export function adler32Hex(data: Uint8Array): string {
  return new Adler32().update(data).hex();
}

export interface FileDigests {
  sizeBytes: number;
  adler32: string;
  sha256: string;
}

/** Size, adler32 and sha256 of a file in one streaming pass. */
export async function digestFile(path: string): Promise<FileDigests> {
  const adler = new Adler32();
  const sha = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    adler.update(bytes);
    sha.update(bytes);
    sizeBytes += bytes.length;
  }
  return { sizeBytes, adler32: adler.hex(), sha256: sha.digest('hex') };
}

/** Parses PanDA's `ad:<hex>` / `md5:<hex>` checksum notation; undefined for an empty value. */
export function parsePandaChecksum(
  value: string,
): { kind: 'adler32' | 'md5'; hex: string } | undefined {
  const v = value.trim();
  if (v === '' || v === 'NULL') return undefined;
  const m = /^(ad|md5):([0-9a-fA-F]+)$/.exec(v);
  if (m?.[1] === 'ad' && m[2]?.length === 8) return { kind: 'adler32', hex: m[2].toLowerCase() };
  if (m?.[1] === 'md5' && m[2]?.length === 32) return { kind: 'md5', hex: m[2].toLowerCase() };
  // A bare 8-hex value is adler32 (Rucio's own notation).
  if (/^[0-9a-fA-F]{8}$/.test(v)) return { kind: 'adler32', hex: v.toLowerCase() };
  return undefined;
}
