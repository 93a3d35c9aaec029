/**
 * Job directories are removed `keepJobDirHours` after the result was published, never before:
 * while NATS is away the result waits and so does the directory, however long. Outputs placed in
 * outputsDir survive the removal (they are links or copies outside the job directory).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestFile } from '../../../shared/checksum.js';
import { commandSpec } from '../../harness/agent.js';
import { AgentRig } from '../../harness/agent-rig.js';
import { reconnected, startNats } from '../../harness/nats.js';
import { PAYLOAD_FIXTURE } from '../../harness/payload.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';

const KEEP_HOURS = 0.0005; // 1.8 s
const KEEP_MS = KEEP_HOURS * 3_600_000;

describe('job directory retention', () => {
  it('removes a job directory only once its result is published and the time is up; outputs stay', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    const outputsDir = join(dir.path, 'outputs');
    await using rig = await AgentRig.start({
      dir: dir.path,
      nats,
      env: {
        PGC_KEEP_JOB_DIR_HOURS: String(KEEP_HOURS),
        PGC_OUTPUTS_DIR: outputsDir,
        PGC_OBJECT_STORE_MAX_BYTES: '1000',
      },
    });
    const spec = commandSpec(
      `exec python3 ${PAYLOAD_FIXTURE} --write-file big.dat=5000 --run-ms 500`,
      {
        outputs: [
          { localName: 'big.dat', lfn: 'user.t.big.dat', scope: 'user.t', dataset: '', guid: 'g' },
        ],
        log: { lfn: 'user.t.log.tgz', guid: 'g-log', scope: 'user.t' },
      },
    );
    const key = spec.key ?? { pandaId: 0, attemptNr: 0 };
    const jobDir = rig.jobDir(key);
    await rig.run(spec);
    await waitFor(() => existsSync(jobDir), { what: 'the job directory' });
    await nats.stop();
    await waitFor(() => existsSync(join(jobDir, 'user.t.log.tgz')), {
      what: 'the job to finish',
      timeoutMs: 20_000,
    });
    // Unpublished for well over the retention time: the directory stays.
    await new Promise((resolve) => setTimeout(resolve, 2 * KEEP_MS));
    expect(existsSync(jobDir)).toBe(true);

    const readerBack = reconnected(rig.nc);
    await nats.restart();
    await readerBack;
    const result = await rig.result(key);
    expect(result.value.failure).toBeUndefined();
    const removedAtMs = await waitFor(() => !existsSync(jobDir) && Date.now(), {
      what: 'the job directory to be removed',
      timeoutMs: 10_000,
    });
    expect(removedAtMs - result.storedAtMs).toBeGreaterThanOrEqual(KEEP_MS);

    const big = result.value.outputs[0];
    const path = join(outputsDir, 'user.t', 'user.t.big.dat');
    expect(big?.location?.where).toEqual({ $case: 'path', path });
    expect((await digestFile(path)).adler32).toBe(big?.adler32);
  }, 90_000);
});
