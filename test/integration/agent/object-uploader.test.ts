/**
 * The agent's object-store uploads under the NATS account and user `pgc nats-config` gives an
 * agent (shared/nats/permissions.ts: it may not create streams or read account info): a bucket
 * the control plane has not created yet is a clear retryable error, then the upload works and is
 * idempotent, and creating a bucket is refused.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { describe, expect, it } from 'vitest';
import { ObjectUploader } from '../../../agent/delivery/object-uploader.js';
import { digestFile } from '../../../shared/checksum.js';
import { FailureCode, PgcError } from '../../../shared/errors.js';
import {
  DEFAULT_STREAM_SETTINGS,
  ensureControlStreams,
  ensureEndpointResources,
} from '../../../shared/nats/streams.js';
import {
  connectAgent,
  connectControl,
  generateNatsAuth,
  startNatsWithAccounts,
} from '../../harness/nats-auth.js';
import { payloadPattern } from '../../harness/payload.js';
import { tempDir } from '../../harness/temp.js';

const ENDPOINT = 'ep-a';

describe('object-store uploads with an agent-confined NATS user', () => {
  it('reports a missing bucket, then uploads once, finds the object on a retry, may not create one', async () => {
    using dir = tempDir();
    const files = await generateNatsAuth(dir.path, [ENDPOINT]);
    const { names } = files;
    const BUCKET = names.bucket(ENDPOINT);
    await using nats = await startNatsWithAccounts(files);
    const control = await connectControl(nats, files);
    const jsm = await jetstreamManager(control);
    await ensureControlStreams(jsm, names, { ...DEFAULT_STREAM_SETTINGS, logsMaxBytes: 1 << 20 });
    const agent = await connectAgent(nats, files, ENDPOINT);
    const uploader = new ObjectUploader(agent.js);

    const path = join(dir.path, 'out.dat');
    writeFileSync(path, payloadPattern(3 * 1024 * 1024 + 17));
    const digests = await digestFile(path);
    const upload = {
      path,
      bucket: BUCKET,
      name: 'out/0000000000000001.0001/user.t.out.dat',
      sizeBytes: digests.sizeBytes,
      sha256: digests.sha256,
    };
    // Before the control plane created the bucket (it does when the agent says Hello).
    const missing = await uploader.upload(upload).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PgcError);
    expect((missing as PgcError).code).toBe(FailureCode.NOT_FOUND);
    expect((missing as PgcError).retryable).toBe(true);
    expect((missing as PgcError).message).toContain(`bucket ${BUCKET} does not exist`);
    await ensureEndpointResources(control, jsm, names, ENDPOINT);
    expect(await uploader.upload(upload)).toBe('uploaded');
    expect(await uploader.upload(upload)).toBe('present');
    const stored = await (await new Objm(control).open(BUCKET)).getBlob(upload.name);
    expect(Buffer.from(stored ?? []).equals(payloadPattern(3 * 1024 * 1024 + 17))).toBe(true);

    await expect(new Objm(agent.js).create(names.bucket('ep-new'))).rejects.toThrow(
      /Permissions Violation/,
    );

    // A file that changed since the job ended can never match its result: not retried.
    writeFileSync(path, 'changed');
    const changed = await uploader
      .upload({ ...upload, name: 'out/0000000000000001.0001/other' })
      .catch((e: unknown) => e);
    expect((changed as PgcError).retryable).toBe(false);
    expect((changed as PgcError).code).toBe(FailureCode.STAGE_OUT_FAILED);
    await agent.nc.close();
    await control.close();
  }, 60_000);
});
