/**
 * `pgc nats-config`: writes the nats-server `accounts` block that confines each agent to its
 * own subjects, bucket and command consumer (shared/nats/permissions.ts says what and why), and
 * one nkey seed file per user (mode 0600, in a 0700 directory) for the agents and the control
 * plane to name in `nats.nkeySeedFile`. The server configuration holds public keys only; no
 * seed is ever printed. Seed files already there are kept, so running the command again with
 * one more endpoint changes no other user's key (delete a seed file to rotate that key).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { controlSchema } from '../../control/config.js';
import { loadConfig } from '../../shared/config.js';
import { ID_PATTERN } from '../../shared/ids.js';
import { checkSeedFile } from '../../shared/nats/credentials.js';
import { agentJsApiPrefix, renderAccounts } from '../../shared/nats/permissions.js';
import { DEFAULT_PREFIX, natsNames } from '../../shared/nats/subjects.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../program.js';

export interface NatsConfigFlags {
  endpoint?: string[];
  controlUser?: string;
  prefix?: string;
  /** A control-plane config: its subject prefix and the endpoints its queues name. */
  config?: string;
  credentialsDir?: string;
  output?: string;
}

export const DEFAULT_CONTROL_USER = 'control';
export const CREDENTIALS_DIR_NAME = 'pgc-nats-credentials';

interface UserPlan {
  label: string;
  seedFile: string;
  endpointId?: string;
}

/** The seed file of one agent in the credentials directory. */
export function agentSeedFile(dir: string, endpointId: string): string {
  return join(dir, `agent-${endpointId}.nk`);
}

function checkId(what: string, value: string): string {
  if (!ID_PATTERN.test(value))
    throw new UsageError(`${what} ${JSON.stringify(value)}: use 1 to 64 letters, digits, _ or -`);
  return value;
}

/** Reuses the seed file if there is one (it must be 0600 and a user seed), else makes a key. */
function ensureSeed(file: string): { publicKey: string; created: boolean } {
  if (existsSync(file)) return { publicKey: checkSeedFile(file), created: false };
  const pair = nkeys.createUser();
  // 'wx': never overwrite a seed another run wrote meanwhile; mode 0600 from the first byte.
  writeFileSync(file, `${new TextDecoder().decode(pair.getSeed())}\n`, { mode: 0o600, flag: 'wx' });
  return { publicKey: pair.getPublicKey(), created: true };
}

/** Writes next to the target and renames, so a server reloading never reads half a file. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, text, { mode: 0o644 });
  renameSync(temp, file);
}

export async function runNatsConfig(flags: NatsConfigFlags, io: CliIo): Promise<void> {
  const fromFile = flags.config
    ? loadConfig({ schema: controlSchema, file: flags.config, env: io.env, flags: {} })
    : undefined;
  const prefix = checkId('prefix', flags.prefix ?? fromFile?.nats.subjectPrefix ?? DEFAULT_PREFIX);
  const endpoints = [
    ...new Set([
      ...(flags.endpoint ?? []),
      ...(fromFile?.queues.flatMap((q) => q.endpoints ?? []) ?? []),
    ]),
  ].map((id) => checkId('endpoint id', id));
  if (endpoints.length === 0)
    throw new UsageError(
      'name the agents: --endpoint <id> (repeatable), or --config with queues that list endpoints',
    );
  const controlUser = checkId('control user', flags.controlUser ?? DEFAULT_CONTROL_USER);
  if (controlUser.startsWith('agent-'))
    throw new UsageError('--control-user must not start with "agent-" (agent seed files do)');
  const output = flags.output ? resolve(flags.output) : undefined;
  const dir = resolve(
    flags.credentialsDir ?? join(output ? dirname(output) : process.cwd(), CREDENTIALS_DIR_NAME),
  );

  const names = natsNames(prefix);
  const plans: UserPlan[] = [
    { label: `control plane (${controlUser})`, seedFile: join(dir, `${controlUser}.nk`) },
    ...endpoints.map((endpointId) => ({
      label: `agent ${endpointId}`,
      seedFile: agentSeedFile(dir, endpointId),
      endpointId,
    })),
  ];
  // Every existing seed is checked before anything is written: a bad one stops the run whole.
  for (const plan of plans) if (existsSync(plan.seedFile)) checkSeedFile(plan.seedFile);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = plans.map((plan) => ({ plan, ...ensureSeed(plan.seedFile) }));
  const [control, ...agents] = keys;
  if (control === undefined) throw new Error('unreachable: the control user is always planned');
  const text = renderAccounts({
    names,
    control: { label: control.plan.label, nkey: control.publicKey },
    agents: agents.map((a) => ({
      label: a.plan.label,
      nkey: a.publicKey,
      endpointId: a.plan.endpointId ?? '',
    })),
  });
  if (output) writeAtomically(output, text);
  else io.stdout(text);

  const apiPrefix = agentJsApiPrefix(names);
  const lines = [
    `pgc nats-config: prefix ${prefix}, ${endpoints.length} agent(s); seeds in ${dir}`,
  ];
  for (const k of keys) {
    const settings = [`nats.nkeySeedFile: ${k.plan.seedFile}`];
    if (k.plan.endpointId !== undefined) settings.push(`nats.jsApiPrefix: ${apiPrefix}`);
    lines.push(
      `  ${k.plan.label}: ${k.created ? 'new' : 'kept'} key ${k.publicKey}`,
      `    set ${settings.join(', ')}`,
    );
  }
  lines.push(
    output
      ? `wrote ${output}: include it from nats-server.conf (JetStream enabled), then reload: nats-server --signal reload`
      : 'include the block above from nats-server.conf (JetStream enabled), then reload: nats-server --signal reload',
    'copy each seed file to its host only (mode 0600); the server needs none of them',
  );
  io.stderr(`${lines.join('\n')}\n`);
}
