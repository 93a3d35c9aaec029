/**
 * Puts a job's files into its endpoint's object-store bucket, idempotently: an object already
 * there with the same size and SHA-256 is left alone, so a retry after a lost reply or an agent
 * restart costs one lookup. The agent never creates a bucket (its NATS user may not; the control
 * plane creates it when the agent connects): `Objm.open` checks that the bucket exists with a
 * stream-info request and never creates it. Files stream from disk in the object store's chunks,
 * never whole into memory.
 *
 * JetStream APIs used (for the agent's NATS permissions): STREAM.INFO.OBJ_<bucket>,
 * DIRECT.GET / STREAM.MSG.GET.OBJ_<bucket> (object info), publishes to `$O.<bucket>.>`, and
 * STREAM.PURGE.OBJ_<bucket> (nats.js removes the chunks of a failed or replaced put).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { JetStreamClient } from '@nats-io/jetstream';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { describeError, FailureCode, PgcError } from '../../shared/errors.js';
import type { PendingUpload } from '../runner/stage-out.js';

/** The object store's digest notation: `SHA-256=` + padded base64url (nats.js obj). */
export function objectDigest(sha256Hex: string): string {
  const b64 = Buffer.from(sha256Hex, 'hex').toString('base64');
  return `SHA-256=${b64.replace(/\+/g, '-').replace(/\//g, '_')}`;
}

/** The file can never be stored as the result says (gone or changed): retrying cannot help. */
export function permanentUploadError(upload: PendingUpload, why: string): PgcError {
  return new PgcError(
    FailureCode.STAGE_OUT_FAILED,
    `${upload.name} cannot be stored in bucket ${upload.bucket}: ${why}`,
    { retryable: false },
  );
}

export class ObjectUploader {
  private readonly stores = new Map<string, ObjectStore>();

  /** `js` should be made with `checkAPI: false`: the agent may not read account info. */
  constructor(private readonly js: JetStreamClient) {}

  private async store(bucket: string): Promise<ObjectStore> {
    const known = this.stores.get(bucket);
    if (known !== undefined) return known;
    let store: ObjectStore;
    try {
      store = await new Objm(this.js).open(bucket);
    } catch (err) {
      const missing = err instanceof Error && /not found/i.test(err.message);
      throw new PgcError(
        missing ? FailureCode.NOT_FOUND : FailureCode.UNAVAILABLE,
        missing
          ? `object store bucket ${bucket} does not exist; the control plane creates it when this agent connects (is pgc control run up and does it know this endpoint?)`
          : `cannot open object store bucket ${bucket}: ${describeError(err)}`,
        { cause: err, retryable: true },
      );
    }
    this.stores.set(bucket, store);
    return store;
  }

  /** Stores the file unless an identical object is there already. */
  async upload(upload: PendingUpload): Promise<'uploaded' | 'present'> {
    const expected = objectDigest(upload.sha256);
    try {
      const store = await this.store(upload.bucket);
      const there = await store.info(upload.name);
      if (there !== null && !there.deleted && there.size === upload.sizeBytes) {
        if (there.digest === expected) return 'present';
      }
      const size = await stat(upload.path).then(
        (s) => s.size,
        () => undefined,
      );
      if (size === undefined) throw permanentUploadError(upload, `${upload.path} is gone`);
      if (size !== upload.sizeBytes)
        throw permanentUploadError(
          upload,
          `${upload.path} changed size (${size} bytes, ${upload.sizeBytes} when the job ended)`,
        );
      const file = createReadStream(upload.path, { highWaterMark: 128 * 1024 });
      const body = Readable.toWeb(file) as ReadableStream<Uint8Array>;
      // nats.js abandons the reader when a put fails: close the file here, not at GC.
      const info = await store.put({ name: upload.name }, body).finally(() => file.destroy());
      if (info.digest !== expected) {
        throw permanentUploadError(upload, `${upload.path} changed since the job ended`);
      }
      return 'uploaded';
    } catch (err) {
      // A bucket deleted and created again is reopened on the next try.
      this.stores.delete(upload.bucket);
      throw err;
    }
  }
}
