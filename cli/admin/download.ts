/**
 * Writes a streamed object (Admin.FetchObject) to a file and checks it against the job record:
 * the adler32 PanDA was told (shared/checksum.ts) and the size. The bytes go to `<file>.part`
 * and are renamed into place only when they match, so a file that exists is a verified one.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Adler32 } from '../../shared/checksum.js';
import { FailureCode } from '../../shared/errors.js';
import type { DataChunk } from '../../shared/gen/pgc/v1/admin.js';
import { AdminCallError } from './connection.js';

export interface Expected {
  /** 8 lowercase hex digits; empty: not known, not checked. */
  adler32: string;
  /** 0 with an empty adler32: not known. */
  sizeBytes: number;
}

export interface Downloaded {
  file: string;
  sizeBytes: number;
  adler32: string;
}

export async function downloadVerified(
  chunks: AsyncIterable<DataChunk>,
  file: string,
  expected: Expected,
  what: string,
): Promise<Downloaded> {
  const part = `${file}.part`;
  const out = createWriteStream(part, { mode: 0o644 });
  let writeError: Error | undefined;
  // A failed write (disk full) surfaces here, not as an unhandled 'error' event.
  out.on('error', (err) => {
    writeError = err;
  });
  const adler = new Adler32();
  let size = 0;
  try {
    for await (const chunk of chunks) {
      if (writeError) throw writeError;
      adler.update(chunk.data);
      size += chunk.data.length;
      if (!out.write(chunk.data)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    if (writeError) throw writeError;
  } catch (err) {
    out.destroy();
    await rm(part, { force: true });
    throw err;
  }
  const got = adler.hex();
  const known = expected.adler32 !== '';
  const problem =
    known && got !== expected.adler32.toLowerCase()
      ? `adler32 mismatch for ${what}: the job record says ${expected.adler32}, the download has ${got}`
      : known && size !== expected.sizeBytes
        ? `size mismatch for ${what}: the job record says ${expected.sizeBytes} bytes, the download has ${size}`
        : undefined;
  if (problem !== undefined) {
    await rm(part, { force: true });
    throw new AdminCallError(FailureCode.INPUT_CHECKSUM, `${problem}; nothing was written`);
  }
  await rename(part, file);
  return { file, sizeBytes: size, adler32: got };
}
