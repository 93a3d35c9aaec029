/**
 * What a result waits for (issue 6): the rest of the log with eof chunks, the log tarball and
 * the small outputs in the endpoint's bucket; larger outputs placed in outputsDir. The result is
 * stored after all of them, also when NATS is away while the job finishes; a missing bucket is
 * reported and retried, not fatal; unsafe file names never become paths.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adler32Hex, digestFile } from '../../../shared/checksum.js';
import { FailureCode } from '../../../shared/errors.js';
import type { JobKey } from '../../../shared/gen/pgc/v1/common.js';
import type { JobResult, JobSpec, OutputInfo } from '../../../shared/gen/pgc/v1/job.js';
import { objectNames } from '../../../shared/nats/subjects.js';
import { commandSpec, pythonAdler32 } from '../../harness/agent.js';
import { AgentRig } from '../../harness/agent-rig.js';
import { reconnected, startNats } from '../../harness/nats.js';
import { PAYLOAD_FIXTURE, payloadPattern } from '../../harness/payload.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';

const MB = 1_000_000;

function jobWithFiles(files: Record<string, number>, flags = ''): JobSpec {
  const writes = Object.entries(files)
    .map(([name, bytes]) => `--write-file ${name}=${bytes}`)
    .join(' ');
  return commandSpec(`exec python3 ${PAYLOAD_FIXTURE} ${writes} ${flags}`, {
    outputs: Object.keys(files).map((name) => ({
      localName: name,
      lfn: `user.t.${name}`,
      scope: 'user.t',
      dataset: '',
      guid: `g-${name}`,
    })),
    log: { lfn: 'user.t.job.log.tgz', guid: 'g-log', scope: 'user.t' },
  });
}

function keyOf(spec: JobSpec): JobKey {
  return spec.key ?? { pandaId: 0, attemptNr: 0 };
}

function output(result: JobResult, lfn: string): OutputInfo {
  const found = result.outputs.find((o) => o.lfn === lfn);
  if (found === undefined) throw new Error(`no output ${lfn} in the result`);
  return found;
}

/** The result was stored after every chunk and object it depends on. */
async function expectResultLast(rig: AgentRig, key: JobKey, objects: string[]) {
  const result = await rig.result(key);
  const chunks = await rig.chunks(key);
  for (const c of chunks) expect(c.storedAtMs).toBeLessThanOrEqual(result.storedAtMs);
  for (const name of objects) {
    const object = await rig.object(name);
    expect(object, name).toBeDefined();
    expect(object?.storedAtMs ?? Infinity).toBeLessThanOrEqual(result.storedAtMs);
  }
  return result.value;
}

describe('result delivery', () => {
  it('stores a 1 MB output and the tarball in the bucket, a 70 MB output in outputsDir, then the result', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    const outputsDir = join(dir.path, 'shared-outputs');
    await using rig = await AgentRig.start({
      dir: dir.path,
      nats,
      env: { PGC_OUTPUTS_DIR: outputsDir },
    });
    const spec = jobWithFiles({ 'small.dat': MB, 'big.dat': 70 * MB }, '--stdout-bytes 5000');
    const key = keyOf(spec);
    await rig.run(spec);
    const smallName = objectNames.output(key, 'user.t.small.dat');
    const logName = objectNames.logArchive(key, 'user.t.job.log.tgz');
    const result = await expectResultLast(rig, key, [smallName, logName]);
    expect(result.failure).toBeUndefined();
    const bucket = rig.names.bucket(rig.endpointId);

    const small = output(result, 'user.t.small.dat');
    expect(small.location?.where).toEqual({
      $case: 'object',
      object: { bucket, name: smallName },
    });
    const stored = (await rig.object(smallName))?.value ?? Buffer.alloc(0);
    expect(stored.equals(payloadPattern(MB))).toBe(true);
    expect(adler32Hex(stored)).toBe(small.adler32);
    expect(small.adler32).toBe(pythonAdler32(join(rig.jobDir(key), 'work', 'small.dat')));

    const big = output(result, 'user.t.big.dat');
    const bigPath = join(outputsDir, 'user.t', 'user.t.big.dat');
    expect(big.location?.where).toEqual({ $case: 'path', path: bigPath });
    const digests = await digestFile(bigPath);
    expect(digests.sizeBytes).toBe(70 * MB);
    expect(digests.adler32).toBe(big.adler32);
    // Same filesystem: a hard link, not a copy.
    expect(statSync(bigPath).ino).toBe(statSync(join(rig.jobDir(key), 'work', 'big.dat')).ino);

    expect(result.log?.location?.where).toEqual({
      $case: 'object',
      object: { bucket, name: logName },
    });
    const tarball = (await rig.object(logName))?.value ?? Buffer.alloc(0);
    expect(tarball.length).toBe(result.log?.sizeBytes);
    expect(adler32Hex(tarball)).toBe(result.log?.adler32);
  }, 120_000);

  it('holds the result while NATS is down during finishing; afterwards everything arrives, the result last', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    await using rig = await AgentRig.start({ dir: dir.path, nats });
    const spec = jobWithFiles({ 'out.dat': MB }, '--ticks 20 --tick-ms 100');
    const key = keyOf(spec);
    await rig.run(spec);
    await rig.read(
      rig.names.logsStream,
      rig.names.jobLogs(rig.endpointId, key.pandaId),
      () => 0,
      (items) => items.length >= 2,
      20_000,
    );
    await nats.stop();
    // The job ends while NATS is away (its tarball is written as it finishes).
    await waitFor(() => existsSync(join(rig.jobDir(key), 'user.t.job.log.tgz')), {
      what: 'the job to finish',
      timeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(rig.agent.running).toBe(true);
    const readerBack = reconnected(rig.nc);
    await nats.restart();
    await readerBack;

    const result = await expectResultLast(rig, key, [
      objectNames.output(key, 'user.t.out.dat'),
      objectNames.logArchive(key, 'user.t.job.log.tgz'),
    ]);
    expect(result.failure).toBeUndefined();
    const chunks = await rig.chunks(key);
    const ticks = Buffer.concat(
      [...new Map(chunks.map((c) => [`${c.value.stream}.${c.value.seq}`, c.value])).values()]
        .sort((a, b) => a.seq - b.seq)
        .filter((c) => c.stream === 1)
        .map((c) => c.data),
    )
      .toString()
      .trimEnd()
      .split('\n');
    expect(ticks).toHaveLength(20);
  }, 120_000);

  it('completes the uploads after an agent restart between the end of the job and its result', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    await using rig = await AgentRig.start({ dir: dir.path, nats });
    const spec = jobWithFiles({ 'out.dat': 2 * MB }, '--stdout-bytes 200000 --run-ms 300');
    const key = keyOf(spec);
    await rig.run(spec);
    await waitFor(() => existsSync(rig.jobDir(key)), { what: 'the job directory' });
    await nats.stop();
    await waitFor(() => existsSync(join(rig.jobDir(key), 'user.t.job.log.tgz')), {
      what: 'the job to finish',
      timeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await rig.agent.stop('SIGKILL');
    const readerBack = reconnected(rig.nc);
    await nats.restart();
    await readerBack;
    rig.agent.start();

    const result = await expectResultLast(rig, key, [
      objectNames.output(key, 'user.t.out.dat'),
      objectNames.logArchive(key, 'user.t.job.log.tgz'),
    ]);
    expect(result.failure).toBeUndefined();
    const stored = (await rig.object(objectNames.output(key, 'user.t.out.dat')))?.value;
    expect(stored?.equals(payloadPattern(2 * MB))).toBe(true);
  }, 120_000);

  it('reports a missing bucket clearly, keeps retrying without crashing, and delivers once it exists', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    await using rig = await AgentRig.start({ dir: dir.path, nats, bucket: false });
    const spec = jobWithFiles({ 'out.dat': 1000 });
    const key = keyOf(spec);
    await rig.run(spec);
    await waitFor(() => rig.agentLog().includes('does not exist'), {
      what: 'the agent to report the missing bucket',
      timeoutMs: 20_000,
    });
    await expect(rig.result(key, 2000)).rejects.toThrow(/not all/);
    expect(rig.agent.running).toBe(true);
    const line = rig
      .agentLog()
      .split('\n')
      .find((l) => l.includes('does not exist'));
    expect(line).toContain(rig.names.bucket(rig.endpointId));

    await rig.createBucket();
    const result = await expectResultLast(rig, key, [objectNames.output(key, 'user.t.out.dat')]);
    expect(result.failure).toBeUndefined();
  }, 120_000);

  it('fails a job whose output scope or log LFN would leave its directory, writing nothing outside', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    const outputsDir = join(dir.path, 'a', 'outputs');
    await using rig = await AgentRig.start({
      dir: dir.path,
      nats,
      env: { PGC_OUTPUTS_DIR: outputsDir, PGC_OBJECT_STORE_MAX_BYTES: '0' },
    });
    const badScope = jobWithFiles({ 'x.dat': 100 });
    const scoped = badScope.outputs[0];
    if (scoped) scoped.scope = '../../escaped';
    const badLog = jobWithFiles({ 'y.dat': 100 });
    if (badLog.log) badLog.log.lfn = '../../../escaped.log.tgz';
    await rig.run(badScope);
    await rig.run(badLog);

    const scopeResult = (await rig.result(keyOf(badScope))).value;
    expect(scopeResult.failure?.code).toBe(FailureCode.INVALID_ARGUMENT);
    expect(scopeResult.failure?.message).toContain('output scope "../../escaped"');
    const logResult = (await rig.result(keyOf(badLog))).value;
    expect(logResult.failure?.code).toBe(FailureCode.INVALID_ARGUMENT);
    expect(logResult.failure?.message).toContain('log LFN');
    expect(logResult.log).toBeUndefined();
    expect(existsSync(join(dir.path, 'escaped'))).toBe(false);
    expect(existsSync(join(dir.path, 'a', 'escaped'))).toBe(false);
    expect(existsSync(join(dir.path, 'escaped.log.tgz'))).toBe(false);
  }, 60_000);
});
