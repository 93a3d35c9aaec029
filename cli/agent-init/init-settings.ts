/**
 * `pgc agent init`'s flags checked and turned into the settings to write. Everything wrong with
 * the command line is reported here, before any file is touched, as bad usage (exit 2): an
 * invalid endpoint id or queue, a server that is not host:port, a partial TLS set, plaintext to
 * a network address without --insecure, credentials inside the state directory.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { agentSchema, defaultAgentStateDir } from '../../agent/config.js';
import { checkCredentialPlacement } from '../../agent/credential-files.js';
import { ConfigError } from '../../shared/errors.js';
import { ID_PATTERN } from '../../shared/ids.js';
import { agentJsApiPrefix } from '../../shared/nats/permissions.js';
import { natsNames } from '../../shared/nats/subjects.js';
import { isLoopbackHost, parseHostPort } from '../../shared/tls.js';
import { UsageError } from '../errors.js';
import type { AgentInitSettings } from './agent-yaml.js';

export interface AgentInitFlags {
  endpoint?: string;
  queue?: string[];
  server?: string;
  nats?: string;
  stateDir?: string;
  slots?: number;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  nkeySeedFile?: string;
  runAsUser?: string;
  insecure?: boolean;
  output?: string;
  force?: boolean;
  systemd?: boolean;
  unitDir?: string;
}

export interface AgentInitPlan {
  settings: AgentInitSettings;
  /** Absolute path of the configuration to write. */
  configFile: string;
  /** Absolute directory of the systemd user unit, when --systemd. */
  unitDir?: string | undefined;
}

function id(flag: string, noun: string, value: string): string {
  if (!ID_PATTERN.test(value))
    throw new UsageError(
      `${flag} ${JSON.stringify(value.slice(0, 80))} is not a valid ${noun}: use 1 to 64 letters, digits, '_' or '-'`,
    );
  return value;
}

function checkServer(server: string, hasTls: boolean, insecure: boolean): void {
  let host: string;
  try {
    host = parseHostPort(server).host;
  } catch {
    throw new UsageError(`--server ${JSON.stringify(server)} is not host:port`);
  }
  if (!hasTls && !insecure && !isLoopbackHost(host))
    throw new UsageError(
      `--server ${server} is not a loopback address: give --tls-ca, --tls-cert and --tls-key ` +
        '(pgc certs issue --endpoint makes an agent certificate), or --insecure for plaintext',
    );
}

function tlsFiles(flags: AgentInitFlags): AgentInitSettings['tls'] {
  const { tlsCa, tlsCert, tlsKey } = flags;
  if (tlsCa === undefined && tlsCert === undefined && tlsKey === undefined) return undefined;
  if (tlsCa === undefined || tlsCert === undefined || tlsKey === undefined)
    throw new UsageError('TLS needs all of --tls-ca, --tls-cert and --tls-key');
  return { caFile: resolve(tlsCa), certFile: resolve(tlsCert), keyFile: resolve(tlsKey) };
}

/** systemd's user unit directory: $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user. */
function userUnitDir(env: Readonly<Record<string, string | undefined>>): string {
  // The XDG spec says to ignore a relative XDG_CONFIG_HOME; systemd does.
  const configHome = env.XDG_CONFIG_HOME;
  const base = configHome && isAbsolute(configHome) ? configHome : join(homedir(), '.config');
  return join(base, 'systemd', 'user');
}

export function planAgentInit(
  flags: AgentInitFlags,
  env: Readonly<Record<string, string | undefined>>,
): AgentInitPlan {
  if (flags.endpoint === undefined)
    throw new UsageError(
      'pgc agent init needs --endpoint ID (the id of this endpoint, e.g. bnl-gc-01)',
    );
  const endpointId = id('--endpoint', 'endpoint id', flags.endpoint);
  const queues = (flags.queue ?? []).map((q) => id('--queue', 'queue name', q));
  if (flags.unitDir !== undefined && !flags.systemd)
    throw new UsageError('--unit-dir only applies with --systemd');
  // Unset settings are written with the agent's own defaults, so the file shows them.
  const defaults = agentSchema.parse({ endpointId });
  const tls = tlsFiles(flags);
  // Addresses: flag, else the variable `pgc demo --keep` and the other commands use.
  const server = flags.server ?? (env.PGC_ADDR || defaults.server);
  checkServer(server, tls !== undefined, flags.insecure === true);
  const stateDir = resolve(flags.stateDir ?? defaultAgentStateDir(endpointId));
  const nkeySeedFile = flags.nkeySeedFile === undefined ? undefined : resolve(flags.nkeySeedFile);
  try {
    // The agent refuses the seed there at start; its TLS key deserves the same (payloads can
    // reach whatever is under the state directory).
    checkCredentialPlacement(
      { 'nats.nkeySeedFile': nkeySeedFile, 'tls.keyFile': tls?.keyFile },
      stateDir,
    );
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.problems.join('; '));
    throw err;
  }
  if (flags.runAsUser !== undefined && flags.runAsUser.trim() === '')
    throw new UsageError('--run-as-user needs a user name or uid');

  const settings: AgentInitSettings = {
    endpointId,
    stateDir,
    server,
    queues,
    slots: flags.slots ?? defaults.slots,
    insecure: flags.insecure === true,
    natsUrl: flags.nats ?? (env.PGC_NATS_URL || defaults.nats.url),
    // The control plane's default too: a site that changes it changes both files.
    natsPrefix: defaults.nats.prefix,
    nkeySeedFile,
    // A seed file comes from `pgc nats-config`, whose accounts serve JetStream under this prefix.
    jsApiPrefix:
      nkeySeedFile === undefined ? undefined : agentJsApiPrefix(natsNames(defaults.nats.prefix)),
    tls,
    runAsUser: flags.runAsUser,
  };
  return {
    settings,
    configFile: resolve(flags.output ?? join(homedir(), '.pgc', `agent-${endpointId}.yaml`)),
    unitDir: flags.systemd ? resolve(flags.unitDir ?? userUnitDir(env)) : undefined,
  };
}
