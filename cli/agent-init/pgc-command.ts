/**
 * The command line that runs the very pgc now running, with absolute paths, for a service
 * manager to start the agent with: whatever installed this pgc (npm install -g, a checkout, the
 * agent bundle) also runs the agent.
 */
import { existsSync } from 'node:fs';
import { assetPath } from '../../shared/package-info.js';

export function thisPgcCommand(): string[] {
  // The npm package and a checkout: bin/pgc.js, started by this Node by its absolute path.
  // Not the `pgc` link npm puts on the PATH: that is `#!/usr/bin/env node`, and a systemd user
  // manager's PATH rarely holds the Node a user installed (nvm, ~/.local, a module system).
  const script = assetPath('bin/pgc.js');
  if (existsSync(script)) return [process.execPath, script];
  // The agent bundle (scripts/package-agent.mjs): its sh wrapper runs the bundled Node.
  const wrapper = assetPath('bin/pgc');
  if (existsSync(wrapper)) return [wrapper];
  throw new Error(`cannot tell how this pgc is started: neither ${script} nor ${wrapper} exists`);
}

/** Words as one line a POSIX shell reads back as the same words (for printing, not running). */
export function shellLine(words: readonly string[]): string {
  return words
    .map((w) => (/^[A-Za-z0-9_./:=+@,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
