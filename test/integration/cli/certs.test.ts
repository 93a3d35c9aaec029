/**
 * `pgc certs` through the real binary (issue #7): the PKI it makes runs the whole system over
 * mutual TLS (`pgc control run`, `pgc agent run`, admin verbs with admin certificates of both
 * roles); keys are 0600 and nothing is ever overwritten; bad usage exits 2; a missing openssl
 * says so; `certs token` prints a token and a config line the control plane accepts.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { controlSchema } from '../../../control/config.js';
import { runPgc } from '../../harness/pgc.js';
import { getJob } from '../../harness/sim.js';
import { TestSystem } from '../../harness/system.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';
import { defineCommandJobs, uploadCalcPackage } from '../../harness/workload.js';
import { json } from '../control/admin-helpers.js';

const QUEUE = 'CERTS_Q';
const ENDPOINT = 'certs-ep';

describe('pgc certs', () => {
  it('makes a PKI that runs control plane, agent and admin verbs over mutual TLS', async () => {
    using dir = tempDir('pgc-certs-sys-');
    const pki = join(dir.path, 'pki');
    const file = (name: string) => join(pki, name);
    for (const args of [
      ['init'],
      ['issue', '--endpoint', ENDPOINT],
      ['issue', '--admin', 'alice', '--role', 'operator'],
      ['issue', '--admin', 'vic', '--role', 'viewer', '--days', '7'],
    ]) {
      const run = await runPgc(['certs', ...args, '--dir', pki]);
      expect(run, args.join(' ')).toMatchObject({ code: 0, stderr: '' });
    }

    await using system = await TestSystem.start({
      dir: dir.path,
      queues: [QUEUE],
      agents: [
        {
          endpointId: ENDPOINT,
          queues: [QUEUE],
          env: {
            PGC_TLS_CA_FILE: file('ca.crt'),
            PGC_TLS_CERT_FILE: file(`${ENDPOINT}.crt`),
            PGC_TLS_KEY_FILE: file(`${ENDPOINT}.key`),
          },
        },
      ],
      control: {
        tls: { caFile: file('ca.crt'), certFile: file('server.crt'), keyFile: file('server.key') },
        pollIntervalMs: 300,
        idlePollIntervalMs: 500,
      },
    });
    await uploadCalcPackage(system.sim, dir.path);
    const as = (who: string | undefined, args: string[]) =>
      runPgc([
        ...args,
        '--server',
        system.controlAddress,
        '--tls-ca',
        file('ca.crt'),
        ...(who ? ['--tls-cert', file(`${who}.crt`), '--tls-key', file(`${who}.key`)] : []),
      ]);

    await waitFor(
      async () => {
        const run = await as('alice', ['endpoints', '--json']);
        if (run.code !== 0) return false;
        const list = json<{ endpoints: Array<{ endpointId: string; status: string }> }>(run);
        return list.endpoints.some((e) => e.endpointId === ENDPOINT && e.status === 'online');
      },
      { what: 'the agent online over mutual TLS', timeoutMs: 30_000, intervalMs: 300 },
    );
    const [pandaId] = await defineCommandJobs(system.sim, QUEUE, ['echo over-mtls']);
    await waitFor(async () => (await getJob(system.sim, pandaId as number)).status === 'finished', {
      what: 'the job finished',
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    const logs = await as('vic', ['logs', String(pandaId)]);
    expect(logs).toMatchObject({ code: 0, stdout: 'over-mtls\n' });

    const viewerDrain = await as('vic', ['drain', ENDPOINT]);
    expect(viewerDrain.code).toBe(1);
    expect(viewerDrain.stderr).toBe(
      'pgc: permission denied: Drain needs the operator role; vic (certificate) is a viewer\n',
    );
    expect(await as('alice', ['drain', ENDPOINT])).toMatchObject({ code: 0 });
    // The agent's own certificate is no admin's, and no certificate at all gets no handshake.
    const asAgent = await as(ENDPOINT, ['endpoints']);
    expect(asAgent.stderr).toMatch(/permission denied: an agent certificate \(agent certs-ep\)/);
    expect((await as(undefined, ['endpoints'])).code).toBe(1);
  });

  it('writes keys 0600 and certificates 0644, never overwrites, and renews the server certificate under the same CA', async () => {
    using dir = tempDir('pgc-certs-files-');
    const pki = join(dir.path, 'pki');
    const certs = (args: string[]) => runPgc(['certs', ...args, '--dir', pki]);
    expect((await certs(['init', '--host', 'pgc.example.org', '--host', '10.0.0.7'])).code).toBe(0);
    expect((await certs(['issue', '--endpoint', 'ep1'])).code).toBe(0);
    const mode = (name: string) => statSync(join(pki, name)).mode & 0o777;
    expect(mode('.')).toBe(0o700);
    for (const key of ['ca.key', 'server.key', 'ep1.key']) expect(mode(key), key).toBe(0o600);
    for (const cert of ['ca.crt', 'server.crt', 'ep1.crt']) expect(mode(cert), cert).toBe(0o644);
    const server = new X509Certificate(readFileSync(join(pki, 'server.crt')));
    expect(server.subjectAltName).toBe('DNS:pgc.example.org, IP Address:10.0.0.7');
    const ep1 = new X509Certificate(readFileSync(join(pki, 'ep1.crt')));
    expect(ep1.subjectAltName).toBe('URI:pgc:agent:ep1');
    const days = (Date.parse(ep1.validTo) - Date.parse(ep1.validFrom)) / 86_400_000;
    expect(days).toBe(90);

    const before = readFileSync(join(pki, 'ep1.key'));
    const again = await certs(['issue', '--endpoint', 'ep1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refusing to overwrite .*ep1\.crt, .*ep1\.key/);
    expect(readFileSync(join(pki, 'ep1.key')).equals(before)).toBe(true);
    // A stray key alone blocks the pair: no certificate without its key, no key replaced.
    writeFileSync(join(pki, 'bob.key'), 'not mine');
    expect((await certs(['issue', '--admin', 'bob', '--role', 'viewer'])).code).toBe(1);
    expect(readdirSync(pki).filter((f) => f.startsWith('bob'))).toEqual(['bob.key']);
    expect(readFileSync(join(pki, 'bob.key'), 'utf8')).toBe('not mine');

    const ca = readFileSync(join(pki, 'ca.crt'));
    expect((await certs(['init'])).code).toBe(1);
    mkdirSync(join(dir.path, 'old'));
    for (const f of ['server.crt', 'server.key'])
      renameSync(join(pki, f), join(dir.path, 'old', f));
    const renewed = await certs(['init']);
    expect(renewed).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('CA: using the one already in'),
    });
    expect(readFileSync(join(pki, 'ca.crt')).equals(ca)).toBe(true);
    const next = new X509Certificate(readFileSync(join(pki, 'server.crt')));
    expect(next.verify(new X509Certificate(ca).publicKey)).toBe(true);
    expect(next.serialNumber).not.toBe(server.serialNumber);
    expect(readdirSync(pki).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('exits 2 on bad usage, 1 without a CA, and says when openssl is missing', async () => {
    using dir = tempDir('pgc-certs-usage-');
    const pki = join(dir.path, 'pki');
    const certs = (args: string[], env?: Record<string, string>) =>
      runPgc(['certs', ...args, '--dir', pki], env ? { env } : {});
    for (const args of [
      ['issue'],
      ['issue', '--endpoint', 'a', '--admin', 'b', '--role', 'viewer'],
      ['issue', '--admin', 'alice'],
      ['issue', '--admin', 'alice', '--role', 'root'],
      ['issue', '--endpoint', 'a.b'],
      ['init', '--host', 'a,DNS:evil.example.org'],
    ]) {
      const run = await certs(args);
      expect(run.code, args.join(' ')).toBe(2);
    }
    const noCa = await certs(['issue', '--endpoint', 'ep1']);
    expect(noCa).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/no CA in .*run pgc certs init/),
    });

    mkdirSync(join(dir.path, 'empty-path'));
    const missing = await certs(['init'], { PATH: join(dir.path, 'empty-path') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /needs the openssl command-line tool, and none is on PATH: install it/,
    );
    expect(readdirSync(pki)).toEqual([]);
  });

  it('makes a token once, with the config line the control plane accepts', async () => {
    const run = await runPgc(['certs', 'token', '--name', 'alice', '--role', 'operator', '--json']);
    const made = json<{ name: string; role: string; token: string; sha256: string }>(run);
    expect(made).toMatchObject({ name: 'alice', role: 'operator' });
    expect(made.sha256).toBe(createHash('sha256').update(made.token).digest('hex'));

    const text = await runPgc(['certs', 'token', '--name', 'vic', '--role', 'viewer']);
    expect(text.code).toBe(0);
    const [, token, , ...config] = text.stdout.trimEnd().split('\n');
    const parsed = controlSchema.parse(parse(config.join('\n')));
    expect(parsed.adminTokens).toEqual([
      {
        name: 'vic',
        role: 'viewer',
        sha256: createHash('sha256')
          .update(token ?? '')
          .digest('hex'),
      },
    ]);
    expect((await runPgc(['certs', 'token', '--name', 'x'])).code).toBe(2);
  });
});
