/**
 * Admin.FetchObject through `pgc outputs` and `pgc logs --archive`, with objects the test puts
 * into the endpoint's bucket as an agent would and a result naming them: a 6 MiB output comes
 * back byte-identical with its agent gone, an adler32 mismatch is detected and reported, a
 * path-located output is named, and the gRPC codes say what went wrong.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Objm } from '@nats-io/obj';
import { describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { adler32Hex } from '../../../shared/checksum.js';
import type { OutputInfo } from '../../../shared/gen/pgc/v1/job.js';
import { objectNames } from '../../../shared/nats/subjects.js';
import { uniqueId } from '../../harness/nats.js';
import { tempDir } from '../../harness/temp.js';
import { failure, finish, json, pgcAgainst, rawAdmin, untilState } from './admin-helpers.js';
import { defineTestJobs, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

describe('pgc outputs and pgc logs --archive', () => {
  it('download what the object store holds, verified, after the agent is gone', async () => {
    const ctl = await setup();
    const pgc = pgcAgainst(() => ctl.cp);
    const agent = await ctl.agent(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await untilState(() => ctl.cp, key, JobState.ACCEPTED);
    const spec = agent.specs.values().next().value;
    const bigLfn = spec?.outputs[0]?.lfn ?? 'big.dat';
    const logLfn = spec?.log?.lfn ?? 'job.log.tgz';

    const bucket = await new Objm(env.nc).open(ctl.names.bucket(agent.endpointId));
    const big = randomBytes(6 * 1024 * 1024 + 123);
    const small = Buffer.from('a small output\n');
    const tarball = randomBytes(300_000);
    const put = async (name: string, data: Buffer) => {
      await bucket.putBlob({ name }, data);
      return { object: { bucket: ctl.names.bucket(agent.endpointId), name } };
    };
    const file = (lfn: string, data: Buffer, where: OutputInfo['location']): OutputInfo => ({
      localName: lfn,
      lfn,
      sizeBytes: data.length,
      adler32: adler32Hex(data),
      sha256: '',
      guid: `guid-${lfn}`,
      location: where,
    });
    const bigLoc = await put(objectNames.output(key, bigLfn), big);
    const smallLoc = await put(objectNames.output(key, 'small.dat'), small);
    const logLoc = await put(objectNames.logArchive(key, logLfn), tarball);
    const result = {
      ...agent.result(key),
      outputs: [
        file(bigLfn, big, { where: { $case: 'object' as const, object: bigLoc.object } }),
        // The record's checksum disagrees with the stored bytes: must be caught.
        {
          ...file('small.dat', small, { where: { $case: 'object', object: smallLoc.object } }),
          adler32: '00000001',
        },
        file('huge.dat', big, { where: { $case: 'path', path: '/site/outputs/user.x/huge.dat' } }),
      ],
      log: file(logLfn, tarball, { where: { $case: 'object', object: logLoc.object } }),
    };
    await finish(() => ctl.cp, agent, key, result);
    await agent.dispose();

    const dir = tempDir();
    env.defer(() => dir[Symbol.dispose]());
    const run = await pgc(['outputs', String(key.pandaId), '-o', dir.path, '--json'], 60_000);
    expect(run.code).toBe(1);
    const { files } = json<{
      files: { lfn: string; status: string; error: string | null; path: string | null }[];
    }>(run);
    expect(files.map((f) => [f.lfn, f.status])).toEqual([
      [bigLfn, 'downloaded'],
      ['small.dat', 'failed'],
      ['huge.dat', 'on-filesystem'],
    ]);
    expect(files[1]?.error).toContain(
      'adler32 mismatch for small.dat: the job record says 00000001',
    );
    expect(files[2]?.path).toBe('/site/outputs/user.x/huge.dat');
    expect(run.stderr).toMatch(/^pgc: 1 of 3 outputs failed: adler32 mismatch for small\.dat/);
    expect(readFileSync(join(dir.path, bigLfn)).equals(big)).toBe(true);
    // Nothing unverified is left behind.
    expect(readdirSync(dir.path)).toEqual([bigLfn]);

    const human = await pgc(
      ['outputs', String(key.pandaId), '-o', join(dir.path, 'again')],
      60_000,
    );
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`adler32 ${adler32Hex(big)} verified`);
    expect(human.stdout).toContain(
      "huge.dat  on the site's filesystem at /site/outputs/user.x/huge.dat",
    );

    const target = join(dir.path, 'log.tgz');
    const archive = await pgc(['logs', String(key.pandaId), '--archive', '-o', target]);
    expect(archive.code).toBe(0);
    expect(archive.stdout).toContain(`wrote ${target}`);
    expect(readFileSync(target).equals(tarball)).toBe(true);

    const admin = rawAdmin(ctl.cp.grpcAddress);
    env.defer(() => admin.close());
    const fetchError = (what: Parameters<typeof admin.fetchObject>[0]['what']) =>
      failure((cb) => admin.fetchObject({ pandaId: key.pandaId, what }).on('error', cb));
    const unknownLfn = await fetchError({ $case: 'outputLfn', outputLfn: 'nope.dat' });
    expect(unknownLfn.code).toBe(status.NOT_FOUND);
    const onDisk = await fetchError({ $case: 'outputLfn', outputLfn: 'huge.dat' });
    expect(onDisk.code).toBe(status.FAILED_PRECONDITION);
    expect(onDisk.details).toContain('/site/outputs/user.x/huge.dat');
    const unknownJob = await failure((cb) =>
      admin
        .fetchObject({ pandaId: 987654321098, what: { $case: 'logArchive', logArchive: true } })
        .on('error', cb),
    );
    expect(unknownJob.code).toBe(status.NOT_FOUND);
    expect(existsSync(`${target}.part`)).toBe(false);
  });
});
