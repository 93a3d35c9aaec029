import { describe, expect, it } from 'vitest';
import { Adler32, adler32Hex, parsePandaChecksum } from '../../../shared/checksum.js';

describe('adler32', () => {
  it('matches the reference values (zlib.adler32)', () => {
    expect(adler32Hex(new Uint8Array())).toBe('00000001');
    expect(adler32Hex(Buffer.from('Wikipedia'))).toBe('11e60398');
    // python3 -c "import zlib; print('%08x' % zlib.adler32(bytes(range(256))*4000))"
    const big = Buffer.alloc(256 * 4000);
    for (let i = 0; i < big.length; i++) big[i] = i % 256;
    expect(adler32Hex(big)).toBe('4d9ba4b9');
  });

  it('gives the same result fed in pieces', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog'.repeat(1000));
    const pieces = new Adler32();
    for (let i = 0; i < data.length; i += 777) pieces.update(data.subarray(i, i + 777));
    expect(pieces.hex()).toBe(adler32Hex(data));
  });
});

describe('parsePandaChecksum', () => {
  it('reads ad: and md5: notations and bare adler32', () => {
    expect(parsePandaChecksum('ad:0A1B2C3D')).toEqual({ kind: 'adler32', hex: '0a1b2c3d' });
    expect(parsePandaChecksum(`md5:${'f'.repeat(32)}`)).toEqual({
      kind: 'md5',
      hex: 'f'.repeat(32),
    });
    expect(parsePandaChecksum('0a1b2c3d')).toEqual({ kind: 'adler32', hex: '0a1b2c3d' });
  });
  it('returns undefined for empty, NULL and malformed values', () => {
    for (const v of ['', 'NULL', 'ad:123', 'sha1:abc', 'xyz'])
      expect(parsePandaChecksum(v)).toBeUndefined();
  });
});
