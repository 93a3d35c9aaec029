/**
 * What the agent would refuse at start about the credential files a new configuration names,
 * found now with the agent's own checks: a file not there, readable by others, or not what it
 * should hold. Warnings, not errors: certificates and seeds are often copied in after the
 * configuration is written, and fixing a mode needs no new configuration.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../../shared/errors.js';
import { checkSeedFile } from '../../shared/nats/credentials.js';
import { loadTlsMaterial } from '../../shared/tls.js';
import type { AgentInitSettings } from './agent-yaml.js';

function problemsOf(check: () => unknown): string[] {
  try {
    check();
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}

export function credentialWarnings(settings: AgentInitSettings): string[] {
  const warnings: string[] = [];
  const missing = (setting: string, file: string): boolean => {
    if (existsSync(file)) return false;
    warnings.push(`${setting} ${file} does not exist yet: the agent will not start until it does`);
    return true;
  };
  const seed = settings.nkeySeedFile;
  if (seed !== undefined && !missing('nats.nkeySeedFile', seed))
    warnings.push(...problemsOf(() => checkSeedFile(seed)));
  const tls = settings.tls;
  if (tls !== undefined) {
    const absent = [
      missing('tls.caFile', tls.caFile),
      missing('tls.certFile', tls.certFile),
      missing('tls.keyFile', tls.keyFile),
    ].some(Boolean);
    if (!absent) warnings.push(...problemsOf(() => loadTlsMaterial(tls)));
  }
  return warnings;
}
