/**
 * The headline case of the 2023 integration, end to end through the real pieces: a multi-module
 * package uploaded to the (simulated) PanDA cache like prun does, an input registered as a
 * replica, the job acquired with the PanDA client and translated, then run by the agent core:
 * the entry function imports other modules and shares class state, reads %IN, writes outputs.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PandaClient } from '../../../control/panda/client.js';
import { translatePandaJob } from '../../../control/panda/translate.js';
import { FailureCode } from '../../../shared/errors.js';
import { silentLogger } from '../../../shared/logger.js';
import { buildJobPars } from '../../../sim/job-template.js';
import type { PandaSim } from '../../../sim/server.js';
import { openTestAgent, pathOf, pythonAdler32 } from '../../harness/agent.js';
import { defineJobs, postMultipart, startSim } from '../../harness/sim.js';
import { tempDir } from '../../harness/temp.js';

const PACKAGE = fileURLToPath(new URL('../../fixtures/packages/training', import.meta.url));
describe('a multi-module user package run by the agent core', () => {
  let sim: PandaSim;
  let dir: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    dir = tempDir();
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.close();
    dir?.[Symbol.dispose]();
  });

  async function upload(
    path: string,
    name: string,
    fields: Record<string, string> = {},
  ): Promise<void> {
    const target =
      Object.keys(fields).length === 0 ? '/api/v1/file_server/upload_cache_file' : '/sim/files';
    const parts = [
      ...Object.entries(fields).map(([n, value]) => ({ name: n, value })),
      { name: 'file', filename: name, data: readFileSync(path) },
    ];
    const reply = await postMultipart(sim, target, parts, { accept: 'application/json' });
    expect(reply.status, reply.text).toBeLessThan(300);
  }

  async function acquireAndTranslate(exec: string, archive: string, site: string) {
    await defineJobs(sim, [
      {
        site,
        jobPars: buildJobPars({
          sourceUrl: sim.url,
          archive,
          outputs: [
            ['out.dat', `user.pgc.${site}._000001.out.dat`],
            ['output.tar.gz', `user.pgc.${site}._000001.output.tar.gz`],
          ],
          inputs: ['calo_photons.txt'],
          exec,
        }),
        inputs: [{ scope: 'user.pgc', lfn: 'calo_photons.txt' }],
        outputs: [
          { lfn: `user.pgc.${site}._000001.out.dat` },
          { lfn: `user.pgc.${site}._000001.output.tar.gz` },
        ],
      },
    ]);
    const panda = new PandaClient({ baseUrl: sim.url, log: silentLogger() });
    const [job] = await panda.acquireJobs({ site_name: site, prod_source_label: 'user' });
    return translatePandaJob(job ?? {}, {
      queue: site,
      inputUrlTemplates: [`${sim.url}/sim/files/{scope}/{lfn}`],
    });
  }

  it('installs the package, stages the input in, runs main1 and collects verified outputs', async () => {
    const archive = 'jobO.0f1e2d3c-training.tar.gz';
    const tarball = join(dir.path, archive);
    await create({ gzip: true, file: tarball, cwd: PACKAGE, portable: true }, ['training']);
    await upload(tarball, archive);
    const input = join(dir.path, 'calo_photons.txt');
    execFileSync('python3', [
      '-c',
      `open(${JSON.stringify(input)}, "w").write("\\n".join(str(i) for i in range(1, 101)))`,
    ]);
    await upload(input, 'calo_photons.txt', { scope: 'user.pgc' });

    const spec = await acquireAndTranslate(
      '{"func_name": "main1", "pre_script": "from training.train1 import main1", "kwargs": {"input_file": "%IN", "output_file": "output.tar.gz", "example_run": true}}',
      archive,
      'AGENT_PKG',
    );
    await using agent = await openTestAgent(join(dir.path, 'agent'));
    const result = await (await agent.core.run(spec)).done;

    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.returnValueJson)).toEqual({
      loss: 25.25,
      epochs: 2,
      history: [50.5, 25.25],
    });
    expect(result.outputs.map((o) => o.localName)).toEqual(['out.dat', 'output.tar.gz']);
    for (const output of result.outputs) {
      const path = pathOf(output);
      expect(output.adler32, output.localName).toBe(pythonAdler32(path));
      expect(output.sizeBytes).toBe(readFileSync(path).length);
    }
    // out.dat received str() of the return value, as in the 2023 integration.
    expect(readFileSync(pathOf(result.outputs[0]), 'utf8')).toBe(
      "{'loss': 25.25, 'epochs': 2, 'history': [50.5, 25.25]}",
    );
    const members = execFileSync('tar', ['tzf', pathOf(result.outputs[1])]).toString();
    expect(members.trim()).toBe('metrics.txt');
  });

  it('fails a job whose input does not match its checksum, naming the input', async () => {
    const spec = await acquireAndTranslate(
      '{"func_name": "main1", "pre_script": "from training.train1 import main1"}',
      'jobO.0f1e2d3c-training.tar.gz',
      'AGENT_BADSUM',
    );
    const input = spec.inputs[0];
    if (input) input.checksum = 'ad:00000001';
    await using agent = await openTestAgent(join(dir.path, 'agent2'));
    const result = await (await agent.core.run(spec)).done;
    expect(result.failure?.code).toBe(FailureCode.INPUT_CHECKSUM);
    expect(result.failure?.message).toMatch(
      /input calo_photons.txt does not match its checksum: .*adler32 [0-9a-f]{8}, expected 00000001/,
    );
  });

  it('fails a job whose sandbox is not in the cache, and one whose input is nowhere', async () => {
    const spec = await acquireAndTranslate(
      '{"func_name": "main1", "pre_script": "x = 1"}',
      'jobO.missing.tar.gz',
      'AGENT_NOSBX',
    );
    await using agent = await openTestAgent(join(dir.path, 'agent3'));
    const noSandbox = await (await agent.core.run(spec)).done;
    expect(noSandbox.failure?.code).toBe(FailureCode.SANDBOX_UNAVAILABLE);
    expect(noSandbox.failure?.message).toMatch(/404/);

    const spec2 = await acquireAndTranslate(
      '{"func_name": "main1", "pre_script": "x = 1"}',
      'jobO.0f1e2d3c-training.tar.gz',
      'AGENT_NOIN',
    );
    const first = spec2.inputs[0];
    if (first) first.urls = [`${sim.url}/sim/files/user.pgc/absent.txt`];
    const noInput = await (await agent.core.run(spec2)).done;
    expect(noInput.failure?.code).toBe(FailureCode.INPUT_MISSING);
    expect(noInput.failure?.message).toMatch(/input calo_photons.txt was not found/);
  });

  it('rejects an unsafe sandbox naming the entry, and the agent goes on with the next job', async () => {
    const archive = 'jobO.evil-symlink.tar.gz';
    const tarball = join(dir.path, archive);
    execFileSync('python3', [
      '-c',
      [
        'import io, tarfile, sys',
        't = tarfile.open(sys.argv[1], "w:gz")',
        'i = tarfile.TarInfo("pkg/__init__.py"); data = b"x = 1\\n"; i.size = len(data); t.addfile(i, io.BytesIO(data))',
        'l = tarfile.TarInfo("pkg/secrets"); l.type = tarfile.SYMTYPE; l.linkname = "/etc/passwd"; t.addfile(l)',
        't.close()',
      ].join('\n'),
      tarball,
    ]);
    await upload(tarball, archive);
    const evil = await acquireAndTranslate(
      '{"func_name": "main1", "pre_script": "import pkg"}',
      archive,
      'AGENT_EVIL',
    );
    await using agent = await openTestAgent(join(dir.path, 'agent4'));
    const rejected = await (await agent.core.run(evil)).done;
    expect(rejected.failure?.code).toBe(FailureCode.UNSAFE_ARCHIVE);
    expect(rejected.failure?.message).toContain('pkg/secrets');
    const next = await (
      await agent.core.run(
        await acquireAndTranslate(
          '{"func_name": "main1", "pre_script": "from training.train1 import main1", "kwargs": {"input_file": "%IN", "output_file": "output.tar.gz"}}',
          'jobO.0f1e2d3c-training.tar.gz',
          'AGENT_AFTER',
        ),
      )
    ).done;
    expect(next.failure).toBeUndefined();
  });

  it('takes an input from a local directory (<scope>/<lfn>) before its URLs', async () => {
    const spec = await acquireAndTranslate(
      '{"func_name": "main1", "pre_script": "from training.train1 import main1", "kwargs": {"input_file": "%IN", "output_file": "output.tar.gz"}}',
      'jobO.0f1e2d3c-training.tar.gz',
      'AGENT_LOCAL',
    );
    const local = join(dir.path, 'site-data');
    mkdirSync(join(local, 'user.pgc'), { recursive: true });
    copyFileSync(join(dir.path, 'calo_photons.txt'), join(local, 'user.pgc', 'calo_photons.txt'));
    const first = spec.inputs[0];
    if (first) first.urls = ['http://127.0.0.1:9/unreachable'];
    await using agent = await openTestAgent(join(dir.path, 'agent5'), { localInputDirs: [local] });
    const result = await (await agent.core.run(spec)).done;
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.returnValueJson).loss).toBe(5.05);
  });
});
