/**
 * `pgc agent init`: writes an agent configuration from flags, non-interactively (a site's
 * provisioning runs it), and with --systemd a systemd user unit that runs the agent with it. The
 * configuration is loaded back through the agent's own loader before it is put in place, so
 * what is written is what `pgc agent run --config` accepts. Nothing is overwritten without
 * --force; nothing needs root.
 */
import { join } from 'node:path';
import { agentSchema } from '../../agent/config.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { PACKAGE_VERSION } from '../../shared/package-info.js';
import { renderAgentYaml } from '../agent-init/agent-yaml.js';
import { credentialWarnings } from '../agent-init/credential-warnings.js';
import { type AgentInitFlags, planAgentInit } from '../agent-init/init-settings.js';
import {
  commitFile,
  discardFile,
  refuseExisting,
  type StagedFile,
  stageFile,
} from '../agent-init/new-files.js';
import { shellLine, thisPgcCommand } from '../agent-init/pgc-command.js';
import { agentUnitName, renderAgentUnit } from '../agent-init/systemd-unit.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../program.js';

export type { AgentInitFlags };

/** Loads the staged file as `pgc agent run --config` would, without any PGC_* variable. */
function checkWithAgentLoader(file: StagedFile): void {
  try {
    loadConfig({ schema: agentSchema, file: file.temp, env: {} });
  } catch (err) {
    if (err instanceof ConfigError)
      throw new UsageError(
        `the configuration would not load: ${err.problems.map((p) => p.replaceAll(file.temp, file.target)).join('; ')}`,
      );
    throw err;
  }
}

export async function runAgentInit(flags: AgentInitFlags, io: CliIo): Promise<void> {
  const plan = planAgentInit(flags, io.env);
  const { settings, configFile } = plan;
  const unitFile =
    plan.unitDir === undefined ? undefined : join(plan.unitDir, agentUnitName(settings.endpointId));
  const force = flags.force === true;
  refuseExisting(unitFile === undefined ? [configFile] : [configFile, unitFile], force);

  const pgc = thisPgcCommand();
  const runCommand = shellLine([...pgc, 'agent', 'run', '--config', configFile]);
  const staged: StagedFile[] = [];
  try {
    // The configuration names credential paths: readable by its owner only, in a private dir.
    const config = stageFile(
      configFile,
      renderAgentYaml(settings, { version: PACKAGE_VERSION, runCommand }),
      0o600,
      0o700,
    );
    staged.push(config);
    checkWithAgentLoader(config);
    if (unitFile !== undefined) {
      const unit = renderAgentUnit({
        endpointId: settings.endpointId,
        version: PACKAGE_VERSION,
        pgcCommand: pgc,
        configFile,
      });
      staged.push(stageFile(unitFile, unit, 0o644, 0o755));
    }
    for (const file of staged) commitFile(file, force);
  } finally {
    for (const file of staged) discardFile(file);
  }

  for (const warning of credentialWarnings(settings)) io.stderr(`pgc: warning: ${warning}\n`);
  if (settings.queues.length === 0)
    io.stderr('pgc: warning: no --queue given: the agent gets no work until queues are listed\n');
  if (settings.runAsUser !== undefined && process.getuid?.() !== 0)
    io.stderr(
      'pgc: warning: runAsUser needs the agent to run as root; run it from a system unit as root\n',
    );

  io.stdout(`wrote agent configuration ${configFile}\n`);
  if (unitFile === undefined) {
    io.stdout(`run the agent:\n  ${runCommand}\n`);
    return;
  }
  const unit = agentUnitName(settings.endpointId);
  io.stdout(
    [
      `wrote systemd user unit ${unitFile}`,
      'start it now and at every boot:',
      `  systemctl --user daemon-reload && systemctl --user enable --now ${unit}`,
      'keep it running when you are logged out:',
      '  loginctl enable-linger $USER',
      `follow its log: journalctl --user -u ${unit} -f`,
      '',
    ].join('\n'),
  );
}
