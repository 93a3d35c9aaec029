/**
 * The systemd user unit `pgc agent init --systemd` writes: the agent as a service of the user's
 * own systemd instance (no root), restarted whenever it exits, and stopped without touching its
 * payloads. Pure text; examples/systemd/pgc-agent.service is the same unit, commented for
 * adapting by hand.
 */
import { UsageError } from '../errors.js';
import { hasControlCharacter } from './control-characters.js';

export interface AgentUnitOptions {
  endpointId: string;
  version: string;
  /** The command that runs this pgc, absolute: node and bin/pgc.js, or a bundle's bin/pgc. */
  pgcCommand: readonly string[];
  /** Absolute path of the agent configuration. */
  configFile: string;
}

/**
 * One ExecStart word. systemd splits on whitespace, honours double quotes with C escapes,
 * expands %-specifiers and $VARIABLES: those are escaped, so a path means itself.
 */
export function execWord(word: string): string {
  if (hasControlCharacter(word))
    throw new UsageError(
      `${JSON.stringify(word)} holds a control character; a systemd unit cannot name it`,
    );
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_./:=+@,-]+$/.test(escaped)
    ? escaped
    : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The unit's file name: one agent per endpoint, so one unit per endpoint. */
export function agentUnitName(endpointId: string): string {
  return `pgc-agent-${endpointId}.service`;
}

export function renderAgentUnit(options: AgentUnitOptions): string {
  const exec = [...options.pgcCommand, 'agent', 'run', '--config', options.configFile]
    .map(execWord)
    .join(' ');
  const unit = agentUnitName(options.endpointId);
  return `${[
    `# pgc agent for endpoint ${options.endpointId}, written by \`pgc agent init --systemd\` (pgc ${options.version}).`,
    '# A systemd user unit: it runs as you, with no root. Start it now and at every boot, and keep',
    '# it running when you are not logged in:',
    `#   systemctl --user daemon-reload && systemctl --user enable --now ${unit}`,
    '#   loginctl enable-linger $USER',
    '[Unit]',
    `Description=panda-gc agent for endpoint ${options.endpointId}`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    '# Stopping or restarting the agent (an upgrade, a config change) must not kill running jobs:',
    "# payloads run under their own supervisors, in their own sessions but in this unit's cgroup,",
    '# and the next start re-attaches to them. KillMode=process sends SIGTERM to the agent alone,',
    '# which then drains (stops taking work and exits); the default, control-group, would kill',
    '# every payload. Jobs are ended by `pgc kill`, not by stopping their agent.',
    'KillMode=process',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=60',
    'Restart=always',
    'RestartSec=5',
    '# Payloads see the PATH of this unit (see passEnv); a user manager has a short default one.',
    '# Environment=PATH=/opt/conda/bin:/usr/local/bin:/usr/bin:/bin',
    '',
    '[Install]',
    'WantedBy=default.target',
  ].join('\n')}\n`;
}
