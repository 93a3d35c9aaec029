/**
 * Running payloads as another user (`runAsUser`): only an agent running as root can, and only
 * then is the agent's own state out of the payload's reach (its /proc entries, its credential
 * files, other jobs' directories). The user is resolved once, through `id`, so NSS/LDAP users
 * work as well as local ones.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import type { RunAs } from './runner/launcher.js';

export interface RunAsUser extends RunAs {
  name: string;
}

function idOf(flag: '-u' | '-g' | '-un', user: string): string {
  try {
    return execFileSync('id', [flag, user], { encoding: 'utf8' }).trim();
  } catch {
    throw new ConfigError([`runAsUser: no user ${JSON.stringify(user)} on this host`]);
  }
}

/** Resolves `runAsUser` (a name or a numeric uid); undefined when none is configured. */
export function resolveRunAs(
  user: string | undefined,
  agentUid: number = process.getuid?.() ?? -1,
): RunAsUser | undefined {
  if (user === undefined || user === '') return undefined;
  if (agentUid !== 0)
    throw new ConfigError([
      `runAsUser: the agent runs as uid ${agentUid}; only an agent running as root can run payloads as ${user}`,
    ]);
  const uid = Number(idOf('-u', user));
  const gid = Number(idOf('-g', user));
  if (uid === 0)
    throw new ConfigError([`runAsUser: ${user} is root; payloads must not run as root`]);
  return { uid, gid, name: idOf('-un', user) };
}

/**
 * A payload running as another user reaches its code through symbolic links into the agent's
 * sandbox store, and its own directory under jobs/: the directories on the way are made
 * traversable (0711) but not listable, so it can open a path it was given and nothing it has to
 * guess. The journal, outbox and credentials keep their own 0700/0600 modes.
 */
export function openPathsForPayloadUser(stateDir: string): void {
  mkdirSync(join(stateDir, 'jobs'), { recursive: true, mode: 0o711 });
  const dirs = [stateDir, join(stateDir, 'jobs'), join(stateDir, 'sandbox')];
  for (const dir of [...dirs, join(stateDir, 'sandbox', 'store')]) chmodSync(dir, 0o711);
}
