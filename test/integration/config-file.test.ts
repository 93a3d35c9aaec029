import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { loadClientTls, loadTlsMaterial } from '../../shared/tls.js';
import { makeTestPki } from '../harness/certs.js';
import { tempDir } from '../harness/temp.js';

const schema = z.strictObject({
  slots: z.number().int().positive().default(8),
  queues: z.array(z.string()).default([]),
  nats: z.strictObject({ url: z.url().default('nats://127.0.0.1:4222') }).prefault({}),
});

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config files', () => {
  it('are read as YAML and overridden by the environment', () => {
    using dir = tempDir();
    const file = join(dir.path, 'agent.yaml');
    writeFileSync(
      file,
      '# agent\nslots: 4\nqueues: [A, B]\nnats:\n  url: nats://nats.example.org:4222\n',
    );
    expect(loadConfig({ schema, file, env: { PGC_SLOTS: '6' } })).toEqual({
      slots: 6,
      queues: ['A', 'B'],
      nats: { url: 'nats://nats.example.org:4222' },
    });
  });

  it('name the bad and the unknown keys and the file they are in', () => {
    using dir = tempDir();
    const file = join(dir.path, 'agent.yaml');
    writeFileSync(file, 'slots: -2\nsoltz: 3\nnats:\n  url: 12\n  user: x\n');
    expect(problemsOf(() => loadConfig({ schema, file }))).toEqual([
      `slots (in ${file}): Too small: expected number to be >0`,
      `nats.url (in ${file}): Invalid input: expected string, received number`,
      `nats.user (in ${file}): unknown setting`,
      `soltz (in ${file}): unknown setting`,
    ]);
  });

  it('report YAML syntax errors with the line and a missing file by name', () => {
    using dir = tempDir();
    const file = join(dir.path, 'bad.yaml');
    writeFileSync(file, 'slots: 4\nqueues: [A, B\n');
    expect(problemsOf(() => loadConfig({ schema, file }))[0]).toMatch(
      /bad.yaml is not valid YAML at line \d/,
    );
    expect(problemsOf(() => loadConfig({ schema, file: join(dir.path, 'none.yaml') }))[0]).toMatch(
      /none.yaml cannot be read/,
    );
  });
});

describe('TLS material', () => {
  it('loads a CA, certificate and key', () => {
    using dir = tempDir();
    const pki = makeTestPki(dir.path);
    const material = loadTlsMaterial({
      caFile: pki.caFile,
      certFile: pki.server.certFile,
      keyFile: pki.server.keyFile,
    });
    expect(material?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(loadTlsMaterial({})).toBeUndefined();
  });

  it('reports a partial set, swapped files and a key others can read, all at once', () => {
    using dir = tempDir();
    const pki = makeTestPki(dir.path);
    expect(problemsOf(() => loadTlsMaterial({ caFile: pki.caFile }))).toEqual([
      'tls.certFile is required when TLS is configured',
      'tls.keyFile is required when TLS is configured',
    ]);
    chmodSync(pki.server.keyFile, 0o644);
    const problems = problemsOf(() =>
      loadTlsMaterial({
        caFile: pki.server.keyFile,
        certFile: pki.server.certFile,
        keyFile: pki.server.keyFile,
      }),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/CA file .*server.key holds no PEM certificate/);
    expect(problems[1]).toMatch(/readable by group or others \(mode 0644\); run: chmod 600/);
  });

  it('gives an HTTPS client (PanDA) a CA alone, a certificate and key alone, or all three', () => {
    using dir = tempDir();
    const pki = makeTestPki(dir.path);
    const { certFile, keyFile } = pki.server;
    expect(loadClientTls({})).toBeUndefined();
    // A token over HTTPS to a server under a private CA: only the CA.
    expect(Object.keys(loadClientTls({ caFile: pki.caFile }) ?? {})).toEqual(['ca']);
    // x509 client authentication to a server the system CAs know.
    expect(Object.keys(loadClientTls({ certFile, keyFile }) ?? {}).sort()).toEqual(['cert', 'key']);
    expect(
      Object.keys(loadClientTls({ caFile: pki.caFile, certFile, keyFile }) ?? {}).sort(),
    ).toEqual(['ca', 'cert', 'key']);
    expect(problemsOf(() => loadClientTls({ caFile: pki.caFile, certFile }))).toEqual([
      'tls.keyFile is required with tls.certFile',
    ]);
    expect(problemsOf(() => loadClientTls({ keyFile }))).toEqual([
      'tls.certFile is required with tls.keyFile',
    ]);
    chmodSync(keyFile, 0o640);
    expect(problemsOf(() => loadClientTls({ certFile, keyFile }))[0]).toMatch(
      /readable by group or others \(mode 0640\); run: chmod 600/,
    );
  });
});
