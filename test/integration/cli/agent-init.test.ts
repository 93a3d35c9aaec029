/**
 * `pgc agent init` through the real binary: the configuration it writes is what the agent's
 * loader accepts and what `pgc agent run --config` connects with; it never overwrites without
 * --force; --systemd writes a user unit whose stop leaves payloads alone; bad usage exits 2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentSchema } from '../../../agent/config.js';
import { loadConfig } from '../../../shared/config.js';
import { PGC_BIN, runPgc } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';
import { useControlEnv } from '../control/harness.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const { env: controlEnv, setup } = useControlEnv();

/** HOME for one run, and none of the test's own XDG_CONFIG_HOME (empty counts as unset). */
function homeEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: home, XDG_CONFIG_HOME: '', ...extra };
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return undefined;
}

describe('pgc agent init', () => {
  it("writes a commented configuration, at ~/.pgc/agent-<endpoint>.yaml by default, that the agent's loader accepts", async () => {
    using home = tempDir();
    const run = await runPgc(
      [
        'agent',
        'init',
        '--endpoint',
        'site-gc-01',
        '--queue',
        'SITE_Q1',
        '--queue',
        'SITE_Q2',
        '--server',
        '127.0.0.1:7999',
        '--nats',
        'nats://127.0.0.1:4333',
        '--slots',
        '3',
      ],
      { env: homeEnv(home.path) },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const file = join(home.path, '.pgc', 'agent-site-gc-01.yaml');
    expect(run.stdout).toContain(`wrote agent configuration ${file}`);
    expect(run.stdout).toContain(`${process.execPath} ${PGC_BIN} agent run --config ${file}`);
    // It may name credential files: its owner's alone.
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# pgc agent configuration for endpoint site-gc-01/);
    expect(text).toContain('# tls:');
    expect(text).toContain('# nkeySeedFile:');

    const config = loadConfig({ schema: agentSchema, file, env: {} });
    expect(config).toMatchObject({
      endpointId: 'site-gc-01',
      queues: ['SITE_Q1', 'SITE_Q2'],
      server: '127.0.0.1:7999',
      slots: 3,
      insecure: false,
      stateDir: join(home.path, '.pgc', 'agent', 'site-gc-01'),
      nats: { url: 'nats://127.0.0.1:4333', prefix: 'pgc', jsApiPrefix: '$JS.API' },
      tls: {},
    });
    expect(config.runAsUser).toBeUndefined();
  });

  it('writes TLS and NATS credential paths as absolute paths, warns about files not there yet, and refuses them inside the state directory', async () => {
    using dir = tempDir();
    const seed = join(dir.path, 'agent.nk');
    writeFileSync(seed, 'not a seed', { mode: 0o644 });
    const args = [
      'agent',
      'init',
      '--endpoint',
      'ep-tls',
      '--server',
      'pgc.example.org:7800',
      '--tls-ca',
      'tls/ca.crt',
      '--tls-cert',
      'tls/ep-tls.crt',
      '--tls-key',
      'tls/ep-tls.key',
      '--nkey-seed-file',
      seed,
      '--run-as-user',
      'pgcpayload',
      '--state-dir',
      join(dir.path, 'state'),
      '-o',
      join(dir.path, 'conf', 'agent.yaml'),
    ];
    const run = await runPgc(args, { env: homeEnv(dir.path) });
    expect(run.code).toBe(0);
    const config = loadConfig({ schema: agentSchema, file: join(dir.path, 'conf', 'agent.yaml') });
    // Relative to where init ran (this process's cwd), so the service finds them from anywhere.
    expect(config.tls).toEqual({
      caFile: join(process.cwd(), 'tls/ca.crt'),
      certFile: join(process.cwd(), 'tls/ep-tls.crt'),
      keyFile: join(process.cwd(), 'tls/ep-tls.key'),
    });
    expect(config.nats).toMatchObject({ nkeySeedFile: seed, jsApiPrefix: 'JS.PGC.API' });
    expect(config.runAsUser).toBe('pgcpayload');
    expect(run.stderr).toContain(
      `tls.keyFile ${join(process.cwd(), 'tls/ep-tls.key')} does not exist yet`,
    );
    expect(run.stderr).toContain(`nkey seed file ${seed} is readable by group or others`);

    const inside = await runPgc(
      [
        ...args.slice(0, -2),
        '-o',
        join(dir.path, 'other.yaml'),
        '--nkey-seed-file',
        join(dir.path, 'state', 'agent.nk'),
      ],
      { env: homeEnv(dir.path) },
    );
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain('nats.nkeySeedFile');
    expect(inside.stderr).toContain('keep credentials outside it');
    expect(existsSync(join(dir.path, 'other.yaml'))).toBe(false);
  });

  it('refuses to overwrite a file (exit 1, naming it) and overwrites it with --force', async () => {
    using dir = tempDir();
    const file = join(dir.path, 'agent.yaml');
    writeFileSync(file, 'endpointId: old\n');
    const refused = await runPgc(['agent', 'init', '--endpoint', 'ep-new', '-o', file], {
      env: homeEnv(dir.path),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file} already exists; pass --force to overwrite it`);
    expect(readFileSync(file, 'utf8')).toBe('endpointId: old\n');

    const forced = await runPgc(['agent', 'init', '--endpoint', 'ep-new', '-o', file, '--force'], {
      env: homeEnv(dir.path),
    });
    expect(forced.code).toBe(0);
    expect(loadConfig({ schema: agentSchema, file }).endpointId).toBe('ep-new');
  });

  it('with --systemd writes a user unit that restarts the agent, stops it alone (KillMode=process) and runs this pgc on the config', async () => {
    using dir = tempDir();
    const configHome = join(dir.path, 'xdg');
    const run = await runPgc(
      ['agent', 'init', '--endpoint', 'ep-unit', '--queue', 'Q', '--systemd'],
      {
        env: homeEnv(dir.path, { XDG_CONFIG_HOME: configHome }),
      },
    );
    expect(run.code).toBe(0);
    const config = join(dir.path, '.pgc', 'agent-ep-unit.yaml');
    const unitFile = join(configHome, 'systemd', 'user', 'pgc-agent-ep-unit.service');
    expect(run.stdout).toContain(`wrote systemd user unit ${unitFile}`);
    expect(run.stdout).toContain(
      'systemctl --user daemon-reload && systemctl --user enable --now pgc-agent-ep-unit.service',
    );
    expect(run.stdout).toContain('loginctl enable-linger $USER');
    const unit = readFileSync(unitFile, 'utf8');
    const directives = unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
    expect(directives).toEqual(
      expect.arrayContaining([
        `ExecStart=${process.execPath} ${join(ROOT, 'bin/pgc.js')} agent run --config ${config}`,
        'KillMode=process',
        'Restart=always',
        'WantedBy=default.target',
      ]),
    );
    // examples/systemd/pgc-agent.service, for adapting by hand, is the same unit.
    const example = readFileSync(join(ROOT, 'examples/systemd/pgc-agent.service'), 'utf8');
    const generic = (text: string) =>
      text.split('\n').filter((l) => /^[A-Za-z]+=/.test(l) && !/^(ExecStart|Description)=/.test(l));
    expect(generic(example)).toEqual(generic(unit));
    // The second run refuses: the unit exists too (and so does the config).
    const again = await runPgc(
      ['agent', 'init', '--endpoint', 'ep-unit', '--systemd', '--unit-dir', join(dir.path, 'u')],
      { env: homeEnv(dir.path) },
    );
    expect(again.code).toBe(1);
    expect(existsSync(join(dir.path, 'u'))).toBe(false);

    // systemd's own parser, where it is installed (it needs no running systemd to verify a unit).
    const analyze = findOnPath('systemd-analyze');
    if (analyze === undefined) {
      console.log('systemd-analyze not installed: the unit was not verified by systemd');
      return;
    }
    const verified = spawnSync(analyze, ['verify', '--man=no', unitFile], { encoding: 'utf8' });
    // It exits 0 on some problems (an unknown KillMode is "ignoring"), so its output must be empty.
    expect(verified.stderr + verified.stdout).toBe('');
    expect(verified.status).toBe(0);
  });

  it('exits 2 on bad usage, naming the problem, and writes nothing', async () => {
    using dir = tempDir();
    const cases: Array<[string[], string]> = [
      [[], 'needs --endpoint ID'],
      [['--endpoint', 'bad.id'], '--endpoint "bad.id" is not a valid endpoint id'],
      [['--endpoint', 'ep', '--queue', 'a b'], '--queue "a b" is not a valid queue name'],
      [
        ['--endpoint', 'ep', '--tls-ca', 'ca.crt'],
        'TLS needs all of --tls-ca, --tls-cert and --tls-key',
      ],
      [
        ['--endpoint', 'ep', '--server', '10.1.2.3:7800'],
        '10.1.2.3:7800 is not a loopback address',
      ],
      [['--endpoint', 'ep', '--server', 'nohost'], 'is not host:port'],
      [['--endpoint', 'ep', '--unit-dir', dir.path], '--unit-dir only applies with --systemd'],
      [['--endpoint', 'ep', '--slots', '0'], 'expected a positive integer'],
    ];
    for (const [args, message] of cases) {
      const run = await runPgc(['agent', 'init', ...args], { env: homeEnv(dir.path) });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(message);
    }
    expect(existsSync(join(dir.path, '.pgc'))).toBe(false);
  });

  it('writes a configuration that pgc agent run --config starts and connects to a control plane with', async () => {
    using dir = tempDir();
    const ctl = await setup();
    const file = join(dir.path, 'agent.yaml');
    const init = await runPgc(
      [
        'agent',
        'init',
        '--endpoint',
        'ep-run',
        '--queue',
        ctl.queue,
        '--server',
        ctl.cp.grpcAddress,
        '--nats',
        controlEnv.nats.url,
        '--slots',
        '2',
        '--state-dir',
        join(dir.path, 'state'),
        '-o',
        file,
      ],
      { env: homeEnv(dir.path) },
    );
    expect(init.code).toBe(0);

    // Only the subject prefix differs from the file: each test has its own (env > file).
    const agent = spawn(process.execPath, [PGC_BIN, 'agent', 'run', '--config', file], {
      env: { ...process.env, ...homeEnv(dir.path), PGC_NATS_PREFIX: ctl.names.prefix },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    agent.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
    controlEnv.defer(() => {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    });

    const endpoint = await waitFor(
      async () => {
        const run = await runPgc(['endpoints', '--json', '--server', ctl.cp.grpcAddress]);
        const list = (JSON.parse(run.stdout) as { endpoints: Array<Record<string, unknown>> })
          .endpoints;
        return list.find((e) => e.endpointId === 'ep-run' && e.status === 'online');
      },
      { what: `the agent online (its log: ${stderr.slice(-500)})`, timeoutMs: 20_000 },
    );
    expect(endpoint).toMatchObject({ queues: [ctl.queue], slotsTotal: 2 });
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
