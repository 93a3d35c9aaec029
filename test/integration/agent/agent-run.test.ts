import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentSchema } from '../../../agent/config.js';
import { DEFAULT_PASS_ENV } from '../../../agent/runner/payload-argv.js';
import { loadConfig } from '../../../shared/config.js';
import { runPgc } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/agent.yaml', import.meta.url));

describe('pgc agent run', () => {
  it('accepts the example configuration, whose values are the defaults where it shows them', () => {
    const config = loadConfig({ schema: agentSchema, file: EXAMPLE, env: {} });
    expect(config.endpointId).toBe('bnl-gc-01');
    expect(config.queues).toEqual(['BNL_Funcx_Test']);
    const defaults = loadConfig({ schema: agentSchema, env: { PGC_ENDPOINT: 'x' } });
    expect(config.passEnv).toEqual(DEFAULT_PASS_ENV);
    expect(config.sandbox.quotaBytes).toBe(defaults.sandbox.quotaBytes);
    expect(config.maxLogBytes).toBe(defaults.maxLogBytes);
    expect(config.heartbeatIntervalMs).toBe(defaults.heartbeatIntervalMs);
    expect(config.logShipMaxBytes).toBe(defaults.logShipMaxBytes);
    expect(config.objectStoreMaxBytes).toBe(defaults.objectStoreMaxBytes);
    expect(config.keepJobDirHours).toBe(defaults.keepJobDirHours);
  });

  it('exits 2 without an endpoint id, naming the flag', async () => {
    const run = await runPgc(['agent', 'run']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('needs --endpoint ID');
  });

  it('refuses a bad endpoint id and plaintext to a non-loopback server, naming the problem', async () => {
    const bad = await runPgc(['agent', 'run', '--endpoint', 'bad id']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('endpointId (from the command line): use 1 to 64 letters');
    const remote = await runPgc(['agent', 'run', '--endpoint', 'x', '--server', '10.1.2.3:7800']);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain('10.1.2.3:7800 is not a loopback address');
  });

  it('refuses a TLS key inside its state directory, where payloads run, before it starts', async () => {
    using dir = tempDir();
    const stateDir = join(dir.path, 'state');
    const run = await runPgc(['agent', 'run', '--endpoint', 'x', '--state-dir', stateDir], {
      env: {
        PGC_TLS_CA_FILE: join(dir.path, 'ca.crt'),
        PGC_TLS_CERT_FILE: join(dir.path, 'x.crt'),
        PGC_TLS_KEY_FILE: join(stateDir, 'x.key'),
      },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `tls.keyFile: ${join(stateDir, 'x.key')} is inside the state directory`,
    );
  });
});
