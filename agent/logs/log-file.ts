/**
 * A payload's log file as the shipper reads it: opened once and kept open while the stream is
 * shipped (an open/read/close per chunk cost more than the read), read into one buffer that is
 * reused window after window, so the shipper's memory stays one window per stream however much
 * the payload prints.
 */
import { type FileHandle, open } from 'node:fs/promises';

export class LogFile {
  private handle: FileHandle | undefined;
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly path: string) {}

  /** Bytes in the file now; 0 while it does not exist (the payload has not started). */
  async size(): Promise<number> {
    const handle = await this.opened();
    if (handle === undefined) return 0;
    return (await handle.stat()).size;
  }

  /**
   * Up to `length` bytes at `offset`, fewer only if the file shrank or vanished. The bytes live
   * in the reused buffer: valid until the next `read`.
   */
  async read(offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const handle = await this.opened();
    if (handle === undefined) return Buffer.alloc(0);
    if (this.buffer.length < length) this.buffer = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await handle.read(this.buffer, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return this.buffer.subarray(0, got);
  }

  /** Closes the file and lets the buffer go; a later call opens it again. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.buffer = Buffer.alloc(0);
    await handle?.close();
  }

  private async opened(): Promise<FileHandle | undefined> {
    if (this.handle === undefined) {
      try {
        this.handle = await open(this.path, 'r');
      } catch {
        return undefined;
      }
    }
    return this.handle;
  }
}
