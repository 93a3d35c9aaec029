/**
 * Reading only the ends of files a payload wrote: its stderr may be hundreds of MB and its return
 * value file is the payload's to fill, so neither is ever read whole into the agent.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

function readRange(
  path: string,
  fromEnd: boolean,
  maxBytes: number,
): { text: string; sizeBytes: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { text: '', sizeBytes: 0 };
  }
  try {
    const sizeBytes = fstatSync(fd).size;
    const length = Math.min(sizeBytes, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, fromEnd ? sizeBytes - length : 0);
    return { text: buffer.toString('utf8'), sizeBytes };
  } finally {
    closeSync(fd);
  }
}

/** At most the first `maxBytes` of a file; '' when it does not exist. */
export function readHead(path: string, maxBytes: number): string {
  return readRange(path, false, maxBytes).text;
}

/** At most the last `maxBytes` of a file; '' when it does not exist. */
export function readTail(path: string, maxBytes: number): string {
  return readRange(path, true, maxBytes).text;
}

/** A function's return value is at most 64 KiB of JSON on the wire (the control plane's cap). */
export const MAX_RETURN_VALUE_BYTES = 64 * 1024;

/** The return value JSON, or a JSON note when it is larger than the cap. */
export function readReturnValue(path: string): string {
  const { text, sizeBytes } = readRange(path, false, MAX_RETURN_VALUE_BYTES);
  if (sizeBytes <= MAX_RETURN_VALUE_BYTES) return text;
  return JSON.stringify({ return_value_truncated: true, return_value_bytes: sizeBytes });
}
