/**
 * Plain file downloads: `GET /cache/<name>` (Apache's Alias onto the sandbox directory, no API
 * envelope, no credentials; reference §0.1, §4.1) and the replica bytes behind /sim/files.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { sendText } from './http-io.js';

/** Decodes one URL path segment; undefined for malformed escapes or an embedded '/'. */
export function pathSegment(encoded: string): string | undefined {
  try {
    const decoded = decodeURIComponent(encoded);
    return decoded.includes('/') || decoded.includes('\0') ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/** Streams a regular file, or answers 404. */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string | undefined,
): Promise<void> {
  const info = path === undefined ? undefined : await stat(path).catch(() => undefined);
  if (path === undefined || info === undefined || !info.isFile()) {
    sendText(res, 404, 'not found');
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(info.size),
    'last-modified': info.mtime.toUTCString(),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(path), res);
}
