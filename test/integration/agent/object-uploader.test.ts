/**
 * The agent's object-store uploads under a NATS user confined to its own bucket, as production
 * permissions would confine it (it may not create streams or read account info): the upload
 * works, is idempotent, a missing bucket is a clear retryable error, and creating one is refused.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { describe, expect, it } from 'vitest';
import { ObjectUploader } from '../../../agent/delivery/object-uploader.js';
import { digestFile } from '../../../shared/checksum.js';
import { FailureCode, PgcError } from '../../../shared/errors.js';
import { silentLogger } from '../../../shared/logger.js';
import { connectNats } from '../../../shared/nats/connect.js';
import {
  DEFAULT_STREAM_SETTINGS,
  ensureControlStreams,
  ensureEndpointResources,
} from '../../../shared/nats/streams.js';
import { natsNames } from '../../../shared/nats/subjects.js';
import { startNats } from '../../harness/nats.js';
import { payloadPattern } from '../../harness/payload.js';
import { tempDir } from '../../harness/temp.js';

const names = natsNames('pgc');
const ENDPOINT = 'ep-a';
const BUCKET = names.bucket(ENDPOINT);
const OTHER = names.bucket('ep-b');

/** What an agent's user needs for its bucket, and nothing of JetStream administration. */
const AUTH = `
authorization {
  users = [
    { user: control, password: control }
    { user: agent, password: agent, permissions: {
        publish: [
          "$JS.API.STREAM.INFO.OBJ_${BUCKET}", "$JS.API.STREAM.MSG.GET.OBJ_${BUCKET}",
          "$JS.API.STREAM.PURGE.OBJ_${BUCKET}", "$O.${BUCKET}.>",
          "$JS.API.STREAM.INFO.OBJ_${OTHER}"
        ]
        subscribe: ["_INBOX_${ENDPOINT}.>"]
    } }
  ]
}
`;

describe('object-store uploads with an agent-confined NATS user', () => {
  it('uploads once, finds the object on a retry, reports a missing bucket, may not create one', async () => {
    using dir = tempDir();
    await using nats = await startNats({ configText: AUTH });
    const log = silentLogger();
    const control = await connectNats({
      servers: nats.url,
      name: 'control',
      log,
      user: 'control',
      pass: 'control',
    });
    const jsm = await jetstreamManager(control);
    await ensureControlStreams(jsm, names, { ...DEFAULT_STREAM_SETTINGS, logsMaxBytes: 1 << 20 });
    await ensureEndpointResources(control, jsm, names, ENDPOINT);
    const agent = await connectNats({
      servers: nats.url,
      name: 'agent',
      log,
      user: 'agent',
      pass: 'agent',
      inboxPrefix: names.agentInboxPrefix(ENDPOINT),
    });
    const js = jetstream(agent, { checkAPI: false, timeout: 3000 });
    const uploader = new ObjectUploader(js);

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
    expect(await uploader.upload(upload)).toBe('uploaded');
    expect(await uploader.upload(upload)).toBe('present');
    const stored = await (await new Objm(control).open(BUCKET)).getBlob(upload.name);
    expect(Buffer.from(stored ?? []).equals(payloadPattern(3 * 1024 * 1024 + 17))).toBe(true);

    const missing = await uploader.upload({ ...upload, bucket: OTHER }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PgcError);
    expect((missing as PgcError).code).toBe(FailureCode.NOT_FOUND);
    expect((missing as PgcError).retryable).toBe(true);
    expect((missing as PgcError).message).toContain(`bucket ${OTHER} does not exist`);
    await expect(new Objm(js).create(OTHER)).rejects.toThrow(/Permissions Violation|timeout/i);

    // A file that changed since the job ended can never match its result: not retried.
    writeFileSync(path, 'changed');
    const changed = await uploader
      .upload({ ...upload, name: 'out/0000000000000001.0001/other' })
      .catch((e: unknown) => e);
    expect((changed as PgcError).retryable).toBe(false);
    expect((changed as PgcError).code).toBe(FailureCode.STAGE_OUT_FAILED);
    await agent.close();
    await control.close();
  }, 60_000);
});
