/**
 * `pgc nats-config` as an operator runs it: the accounts file is valid for nats-server and holds
 * no secret; each seed file is 0600 in a 0700 directory and never printed; running it again with
 * one more endpoint keeps every existing key; a seed file others can read stops the run before
 * anything is written; the prefix and endpoints can come from the control plane's config. The
 * seed files are what the processes load (shared/nats/credentials.ts), which refuses them when
 * readable by others or malformed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.js';
import { silentLogger } from '../../../shared/logger.js';
import { natsAuth } from '../../../shared/nats/credentials.js';
import { findNatsServer } from '../../../shared/nats/local-server.js';
import { runPgc } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

function natsServerAccepts(dir: string, accountsFile: string): string {
  const main = join(dir, 'nats-server.conf');
  // nats-server 2.9 resolves an include relative to the including file.
  writeFileSync(
    main,
    `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\ninclude "${accountsFile.slice(dir.length + 1)}"\n`,
  );
  const check = spawnSync(findNatsServer(process.env), ['-t', '-c', main], { encoding: 'utf8' });
  return `${check.status} ${check.stdout}${check.stderr}`;
}

describe('pgc nats-config', () => {
  it('writes accounts nats-server accepts and 0600 seeds it never prints; keeps them on a rerun', async () => {
    using dir = tempDir('pgc-nats-config-');
    const out = join(dir.path, 'pgc-accounts.conf');
    const first = await runPgc(['nats-config', '--endpoint', 'ep-a', '-o', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('');
    const creds = join(dir.path, 'pgc-nats-credentials');
    expect(mode(creds)).toBe(0o700);
    for (const file of ['control.nk', 'agent-ep-a.nk']) expect(mode(join(creds, file))).toBe(0o600);
    expect(mode(out)).toBe(0o644);
    const seedA = readFileSync(join(creds, 'agent-ep-a.nk'), 'utf8').trim();
    expect(seedA).toMatch(/^SU[A-Z2-7]{56}$/);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain(seedA);
    expect(first.stderr).not.toMatch(/\bS[A-Z2-7]{57}\b/);
    expect(first.stderr).toContain(`nats.nkeySeedFile: ${join(creds, 'agent-ep-a.nk')}`);
    expect(first.stderr).toContain('nats.jsApiPrefix: JS.PGC.API');
    expect(natsServerAccepts(dir.path, out)).toMatch(/^0 .*is valid/);

    const second = await runPgc([
      'nats-config',
      '--endpoint',
      'ep-a',
      '--endpoint',
      'ep-b',
      '--control-user',
      'control',
      '-o',
      out,
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(readFileSync(join(creds, 'agent-ep-a.nk'), 'utf8').trim()).toBe(seedA);
    expect(second.stderr).toMatch(/agent ep-a: kept key/);
    expect(second.stderr).toMatch(/agent ep-b: new key/);
    expect(readFileSync(out, 'utf8')).toContain('"PGC_AGENT_ep-b"');
    expect(natsServerAccepts(dir.path, out)).toMatch(/^0 .*is valid/);

    // A seed others can read is refused, and nothing is written.
    chmodSync(join(creds, 'agent-ep-b.nk'), 0o644);
    const before = readFileSync(out, 'utf8');
    const third = await runPgc([
      'nats-config',
      '--endpoint',
      'ep-c',
      '--endpoint',
      'ep-b',
      '-o',
      out,
    ]);
    expect(third.code).toBe(1);
    expect(third.stderr).toContain('is readable by group or others');
    expect(readFileSync(out, 'utf8')).toBe(before);
    expect(() => statSync(join(creds, 'agent-ep-c.nk'))).toThrow();
  }, 120_000);

  it("takes the prefix and the endpoints from the control plane's config; prints to stdout", async () => {
    using dir = tempDir('pgc-nats-config-');
    const config = join(dir.path, 'control.yaml');
    writeFileSync(
      config,
      'queues:\n  - name: Q1\n    endpoints: [site-1, site-2]\nnats:\n  subjectPrefix: lab\n',
    );
    const run = await runPgc([
      'nats-config',
      '--config',
      config,
      '--credentials-dir',
      join(dir.path, 'creds'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('"LAB": {');
    expect(run.stdout).toContain('"lab.evt.site-1.>"');
    expect(run.stdout).toContain('"$O.lab-obj-site-2.>"');
    expect(run.stderr).toContain('nats.jsApiPrefix: JS.LAB.API');
    const none = await runPgc(['nats-config', '-o', join(dir.path, 'x.conf')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--endpoint');
  }, 60_000);

  it('seed files are loaded only when private and well formed; never with a password too', async () => {
    using dir = tempDir('pgc-nats-config-');
    const run = await runPgc(['nats-config', '--endpoint', 'ep-a', '--credentials-dir', dir.path]);
    expect(run.code, run.stderr).toBe(0);
    const seed = join(dir.path, 'agent-ep-a.nk');
    const log = silentLogger();
    const auth = natsAuth({ nkeySeedFile: seed }, log);
    expect(auth.kind).toBe('nkey');

    chmodSync(seed, 0o640);
    expect(() => natsAuth({ nkeySeedFile: seed }, log)).toThrow(/chmod 600/);
    chmodSync(seed, 0o600);
    expect(() => natsAuth({ nkeySeedFile: seed, user: 'u', password: 'p' }, log)).toThrow(
      ConfigError,
    );
    const bad = join(dir.path, 'bad.nk');
    writeFileSync(bad, 'not-a-seed-but-maybe-a-secret\n', { mode: 0o600 });
    const error = (() => {
      try {
        natsAuth({ nkeySeedFile: bad }, log);
      } catch (err) {
        return err as Error;
      }
    })();
    expect(error?.message).toContain('holds no nkey seed');
    expect(error?.message).not.toContain('maybe-a-secret');
  }, 60_000);
});
