/**
 * A small streaming multipart/form-data parser (RFC 7578) for cache uploads and /sim/files. File
 * parts stream to temporary files in a given directory, text fields stay in memory; every size is
 * bounded (per field, per file, parts, header block). Like werkzeug, a part with a `filename`
 * parameter is a file (FileStorage), any other part a string field, and the first occurrence of a
 * name wins when the form becomes a dict.
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PyFile } from './py-value.js';

export interface MultipartLimits {
  /** Bytes per file part. */
  maxFileBytes: number;
  maxFieldBytes?: number;
  maxParts?: number;
}

export interface MultipartForm {
  /** Fields and files by name, first occurrence first (werkzeug's dict(CombinedMultiDict)). */
  entries: Map<string, string | PyFile>;
  /** Every temporary file written, for the caller to keep (rename) or remove. */
  tempFiles: string[];
}

export class MultipartError extends Error {
  override name = 'MultipartError';
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

/** The boundary of a `multipart/form-data; boundary=...` header, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const [type = '', ...params] = contentType.split(';');
  if (type.trim().toLowerCase() !== 'multipart/form-data') return undefined;
  for (const p of params) {
    const m = /^\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))\s*$/i.exec(p);
    if (m) return m[1] ?? m[2];
  }
  return undefined;
}

interface PartHead {
  name: string;
  filename: string | undefined;
}

function parsePartHeaders(block: Buffer): PartHead {
  for (const line of block.toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
    const params = new Map<string, string>();
    for (const m of line
      .slice(colon + 1)
      .matchAll(/;\s*([A-Za-z0-9_*-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^;]*)/g)) {
      const raw = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[2] ?? '').trim();
      params.set((m[1] ?? '').toLowerCase(), raw);
    }
    const name = params.get('name');
    if (name === undefined) break;
    return { name, filename: params.get('filename') };
  }
  throw new MultipartError('a part has no Content-Disposition with a name');
}

export async function parseMultipart(
  source: AsyncIterable<Buffer>,
  boundary: string,
  dir: string,
  limits: MultipartLimits,
): Promise<MultipartForm> {
  const maxField = limits.maxFieldBytes ?? 64 * 1024;
  const maxParts = limits.maxParts ?? 64;
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const form: MultipartForm = { entries: new Map(), tempFiles: [] };
  // A virtual CRLF in front lets the first boundary match the same delimiter as the others.
  let buf: Buffer = CRLF;
  // Mutated inside drain(); the cast keeps TypeScript from narrowing it to its first value.
  let state = 'preamble' as 'preamble' | 'boundary' | 'headers' | 'body' | 'done';
  let parts = 0;
  let head: PartHead | undefined;
  let file: { handle: FileHandle; path: string; size: number } | undefined;
  let field: Buffer[] = [];
  let fieldSize = 0;

  const write = async (data: Buffer): Promise<void> => {
    if (data.length === 0) return;
    if (file !== undefined) {
      file.size += data.length;
      if (file.size > limits.maxFileBytes) {
        throw new MultipartError(`file part larger than ${limits.maxFileBytes} bytes`);
      }
      await file.handle.write(data);
      return;
    }
    fieldSize += data.length;
    if (fieldSize > maxField) throw new MultipartError(`form field larger than ${maxField} bytes`);
    field.push(data);
  };

  const startPart = async (h: PartHead): Promise<void> => {
    parts++;
    if (parts > maxParts) throw new MultipartError(`more than ${maxParts} parts`);
    head = h;
    if (h.filename !== undefined) {
      const path = join(dir, `.upload-${randomUUID()}`);
      form.tempFiles.push(path);
      file = { handle: await open(path, 'wx', 0o600), path, size: 0 };
    }
  };

  const endPart = async (): Promise<void> => {
    if (head === undefined) return;
    let value: string | PyFile;
    if (file !== undefined) {
      await file.handle.close();
      value = new PyFile(head.filename ?? '', file.path, file.size);
      file = undefined;
    } else {
      value = Buffer.concat(field).toString('utf8');
      field = [];
      fieldSize = 0;
    }
    if (!form.entries.has(head.name)) form.entries.set(head.name, value);
    head = undefined;
  };

  const drain = async (): Promise<void> => {
    for (;;) {
      if (state === 'preamble' || state === 'body') {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          // Keep a tail that could be the start of a delimiter split across chunks.
          const keep = Math.min(buf.length, delimiter.length - 1);
          if (state === 'body') await write(buf.subarray(0, buf.length - keep));
          buf = buf.subarray(buf.length - keep);
          return;
        }
        if (state === 'body') {
          await write(buf.subarray(0, at));
          await endPart();
        }
        buf = buf.subarray(at + delimiter.length);
        state = 'boundary';
      } else if (state === 'boundary') {
        if (buf.length >= 2 && buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'done';
          return;
        }
        const eol = buf.indexOf(CRLF);
        if (eol < 0) {
          if (buf.length > 256) throw new MultipartError('garbage after a boundary');
          return;
        }
        // Transport padding (spaces, tabs) may follow a boundary (RFC 2046 §5.1.1).
        if (!/^[ \t]*$/.test(buf.subarray(0, eol).toString('latin1'))) {
          throw new MultipartError('garbage after a boundary');
        }
        buf = buf.subarray(eol + 2);
        state = 'headers';
      } else if (state === 'headers') {
        const end = buf.indexOf(HEADER_END);
        if (end < 0) {
          if (buf.length > MAX_HEADER_BYTES) throw new MultipartError('part headers too large');
          return;
        }
        await startPart(parsePartHeaders(buf.subarray(0, end)));
        buf = buf.subarray(end + HEADER_END.length);
        state = 'body';
      } else {
        return;
      }
    }
  };

  try {
    for await (const chunk of source) {
      if (state === 'done') continue; // the epilogue is ignored
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      await drain();
    }
    if (state !== 'done')
      throw new MultipartError('the multipart body ends before its final boundary');
    return form;
  } catch (err) {
    await file?.handle.close().catch(() => undefined);
    await discardTempFiles(form.tempFiles);
    throw err;
  }
}

export async function discardTempFiles(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}
