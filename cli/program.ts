/**
 * The pgc command tree. Every subcommand of DESIGN.md is registered here with its flags; each
 * action wires the implementation of its issue. This file only parses and wires: it is, with
 * cli/main.ts, the only code that imports agent/, control/ and sim/.
 */
import { Command, Option } from 'commander';
import { PACKAGE_VERSION } from '../shared/package-info.js';
import type { AdminFlags } from './admin/connection.js';
import { parseStateWord, STATE_WORDS } from './admin/shapes.js';
import { runDrain, runEndpoints } from './commands/admin-endpoints.js';
import { type JobsFlags, runJob, runJobs } from './commands/admin-jobs.js';
import { type KillFlags, runKill } from './commands/admin-kill.js';
import { type LogsFlags, runLogs } from './commands/admin-logs.js';
import { type OutputsFlags, runOutputs } from './commands/admin-outputs.js';
import { type AgentExecFlags, runAgentExec } from './commands/agent-exec.js';
import { type AgentInitFlags, runAgentInit } from './commands/agent-init.js';
import { type AgentRunFlags, runAgent } from './commands/agent-run.js';
import { type ControlRunFlags, runControl } from './commands/control-run.js';
import { type DemoFlags, runDemoCommand } from './commands/demo.js';
import { type NatsConfigFlags, runNatsConfig } from './commands/nats-config.js';
import { type PandaSimFlags, parseMs, parseSeconds, runPandaSim } from './commands/panda-sim.js';
import { runSubmit, type SubmitFlags } from './commands/submit.js';
import { UsageError } from './errors.js';
import {
  adminOptions,
  collect,
  collectChoice,
  DEFAULT_ADDR,
  DEFAULT_NATS_URL,
  logLevelOption,
  parsePort,
  parsePositiveInt,
} from './options.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Raw bytes (pgc logs); resolves when more may be written (back-pressure). */
  stdoutBytes: (data: Uint8Array) => Promise<void>;
  stderrBytes: (data: Uint8Array) => Promise<void>;
  env: Readonly<Record<string, string | undefined>>;
}

/** Variadic ids are parsed here: commander's argParser on a variadic argument sees each value. */
function pandaIdArgument(value: string): number {
  if (!/^[0-9]{1,16}$/.test(value) || Number(value) <= 0)
    throw new UsageError(
      `expected PanDA job ids (positive integers), got ${JSON.stringify(value)}`,
    );
  return Number(value);
}

export function buildProgram(io: CliIo): Command {
  const { env } = io;
  const program = new Command('pgc')
    .description('panda-gc: run PanDA jobs on Globus Compute endpoints')
    .version(PACKAGE_VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  program.configureHelp({ sortSubcommands: false });

  const control = program.command('control').description('the control plane (control run)');
  control
    .command('run')
    .description(
      'run the control plane: pull jobs from PanDA, dispatch them to agents, report results',
    )
    .option('--config <file>', 'YAML configuration file')
    .option('--queue <name>', 'PanDA queue to serve (repeatable)', collect)
    .addOption(
      new Option('--listen <host:port>', 'gRPC listen address').default(
        env.PGC_ADDR ?? DEFAULT_ADDR,
      ),
    )
    .addOption(
      new Option('--panda-url <url>', 'PanDA server or simulator URL').env('PGC_PANDA_URL'),
    )
    .addOption(
      new Option('--panda-token <token>', 'OIDC bearer token for PanDA').env('PGC_PANDA_TOKEN'),
    )
    .addOption(new Option('--nats <url>', 'NATS server URL').env('PGC_NATS_URL'))
    .option('--state-dir <dir>', 'where the control plane keeps its state (default ~/.pgc/control)')
    .option(
      '--metrics-listen <host:port>',
      'Prometheus /metrics address (default 127.0.0.1:9464; "" turns it off)',
    )
    .option('--insecure', 'allow plaintext gRPC on a non-loopback address')
    .addOption(logLevelOption())
    .action((flags: ControlRunFlags, command: Command) => runControl(flags, io, command));

  const agent = program
    .command('agent')
    .description('the endpoint agent (agent run, agent init, agent exec)');
  agent
    .command('run')
    .description('run an agent: connect to the control plane and run the jobs it dispatches')
    .option('--config <file>', 'YAML configuration file')
    .option('--endpoint <id>', 'endpoint id of this agent, e.g. bnl-gc-01')
    .option('--queue <name>', 'PanDA queue this endpoint serves (repeatable)', collect)
    // Defaults and environment variables of these come from the config schema (agent/config.ts),
    // so that a config file can set them: flag > env > file > default.
    .option(
      '--server <host:port>',
      `control-plane gRPC address (env PGC_ADDR, default ${DEFAULT_ADDR})`,
    )
    .option('--nats <url>', 'NATS server URL (env PGC_NATS_URL, default nats://127.0.0.1:4222)')
    .option('--slots <n>', 'job slots (a job takes coreCount slots); default 8', parsePositiveInt)
    .option(
      '--state-dir <dir>',
      'where the agent keeps its state (default ~/.pgc/agent/<endpoint>)',
    )
    .option('--insecure', 'allow plaintext gRPC to a non-loopback address')
    .addOption(logLevelOption())
    .action((flags: AgentRunFlags) => runAgent(flags, io));
  agent
    .command('init')
    .description(
      'write an agent configuration from flags, non-interactively (and a systemd user unit with --systemd)',
    )
    .option('--endpoint <id>', 'endpoint id of this agent (required), e.g. bnl-gc-01')
    .option('--queue <name>', 'PanDA queue this endpoint serves (repeatable)', collect)
    .option(
      '--server <host:port>',
      `control-plane gRPC address (default $PGC_ADDR, else ${DEFAULT_ADDR})`,
    )
    .option('--nats <url>', `NATS server URL (default $PGC_NATS_URL, else ${DEFAULT_NATS_URL})`)
    .option('--state-dir <dir>', "the agent's state directory (default ~/.pgc/agent/<endpoint>)")
    .option('--slots <n>', 'job slots; a job takes coreCount of them (default 8)', parsePositiveInt)
    .option('--tls-ca <file>', "CA the control plane's certificate chains to")
    .option('--tls-cert <file>', "this agent's certificate (pgc certs issue --endpoint)")
    .option('--tls-key <file>', "this agent's private key (mode 0600, outside the state directory)")
    .option('--insecure', 'allow plaintext gRPC to a non-loopback control plane')
    .option('--nkey-seed-file <file>', "this agent's NATS nkey seed, from pgc nats-config")
    .option('--run-as-user <name>', 'run payloads as this user (the agent must run as root)')
    .option(
      '-o, --output <file>',
      'where to write the configuration (default ~/.pgc/agent-<endpoint>.yaml)',
    )
    .option('--force', 'overwrite existing files')
    .option('--systemd', 'also write a systemd user unit pgc-agent-<endpoint>.service')
    .option(
      '--unit-dir <dir>',
      'where the unit goes (default $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user)',
    )
    .action((flags: AgentInitFlags) => runAgentInit(flags, io));
  agent
    .command('exec')
    .description(
      'run job specs (JSON) on this machine without a control plane; print each result as a JSON line',
    )
    .argument(
      '[specs...]',
      'JobSpec JSON files; none: only re-attach to the jobs of a previous run',
    )
    .option('--config <file>', 'YAML configuration file')
    .option('--endpoint <id>', 'endpoint id of this agent')
    .option(
      '--state-dir <dir>',
      'where the agent keeps its state (default ~/.pgc/agent/<endpoint>)',
    )
    .option('--python <path>', 'Python interpreter for function payloads')
    .addOption(logLevelOption())
    .action((specs: string[], flags: AgentExecFlags) => runAgentExec(specs, flags, io));

  program
    .command('panda-sim')
    .description('run a PanDA server simulator that speaks the v1 wire protocol')
    .addOption(
      new Option('--port <n>', 'HTTP port (0 picks a free port)')
        .argParser(parsePort)
        .default(25080),
    )
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--token <token>', 'require this bearer token').env('PGC_SIM_TOKEN'))
    .option('--state-dir <dir>', 'where the simulator keeps its cache files')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'the private key of --tls-cert')
    .option('--tls-ca <file>', 'accept client certificates from this CA as credentials (x509)')
    .option(
      '--sent-timeout-s <s>',
      'fail sent jobs without a pilot reply after this (default 1800)',
      parseSeconds,
    )
    .option(
      '--heartbeat-timeout-s <s>',
      'fail running jobs without a heartbeat after this (default 7200)',
      parseSeconds,
    )
    .option(
      '--holding-timeout-s <s>',
      'fail jobs stuck in holding after this (default 172800)',
      parseSeconds,
    )
    .option(
      '--adder-delay-ms <ms>',
      'delay before a finished/failed report is finalised (default 1000)',
      parseMs,
    )
    .option('--watchdog-interval-ms <ms>', 'how often the watchdog looks (default 1000)', parseMs)
    .addOption(logLevelOption())
    .action((flags: PandaSimFlags) => runPandaSim(flags, io));

  program
    .command('submit')
    .description('submit jobs like prun --noBuild: upload a code directory and create jobs')
    .addOption(
      new Option('--panda-url <url>', 'PanDA server or simulator URL').env('PGC_PANDA_URL'),
    )
    .option('--exec <json>', 'function to run: {"func_name", "pre_script", "args", "kwargs"}')
    .option('--cmd <command>', 'shell command to run instead of a function')
    .option('--code <dir>', 'directory of user code to ship')
    .option('--in-tarball <file>', 'ship an existing archive as is (like prun --inTarBall)')
    .option('--inputs <files>', 'comma-separated local files to register as input replicas')
    .option('--outputs <names>', 'comma-separated output file names')
    .option('--site <queue>', 'PanDA queue to run at')
    .option('--njobs <n>', 'number of jobs', parsePositiveInt, 1)
    .option('--scope <scope>', 'Rucio scope of inputs and outputs', 'user.pgc')
    .addOption(new Option('--token <token>', 'bearer token for the server').env('PGC_SIM_TOKEN'))
    .option('--json', 'print {taskId, pandaIds} as JSON')
    .action((flags: SubmitFlags) => runSubmit(flags, io));

  program
    .command('demo')
    .description(
      'run everything on this machine: nats-server, simulator, control plane, two agents, sample jobs',
    )
    .option('--keep', 'leave the system running and print the export lines to use it')
    .action((flags: DemoFlags) => runDemoCommand(flags, io));

  adminOptions(
    program.command('endpoints').description('list endpoints and their capacity'),
    env,
  ).action((flags: AdminFlags) => runEndpoints(flags, io));
  adminOptions(program.command('jobs').description('list jobs, newest PanDA ids last'), env)
    .option(
      '--state <state>',
      `only jobs in this state (repeatable): ${STATE_WORDS.join(', ')}`,
      collectChoice(STATE_WORDS, parseStateWord),
    )
    .option('--endpoint <id>', 'only jobs at this endpoint')
    .option('--queue <name>', 'only jobs of this queue')
    .option('--task <id>', 'only jobs of this task', parsePositiveInt)
    .option('--limit <n>', 'jobs per page (at most 1000)', parsePositiveInt, 100)
    .option('--page-token <token>', 'continue after a previous page')
    .action((flags: JobsFlags) => runJobs(flags, io));
  adminOptions(
    program.command('job').description('show one job: spec, timeline, result, outputs'),
    env,
  )
    .argument('<pandaId>', 'PanDA job id', parsePositiveInt)
    .action((pandaId: number, flags: AdminFlags) => runJob(pandaId, flags, io));
  adminOptions(
    program
      .command('logs')
      .description(
        "print a job's logs: its stdout to stdout, its stderr to stderr (or download the tarball)",
      ),
    env,
  )
    .argument('<pandaId>', 'PanDA job id', parsePositiveInt)
    .option('-f, --follow', 'follow a running job until it ends')
    .option('--stdout', 'stdout only')
    .option('--stderr', 'stderr only (printed to stdout)')
    .option('--tail <n>', 'only the last N lines of each stream', parsePositiveInt)
    .option('--archive', "download the job's log tarball")
    .option('-o, --output <file>', 'where to write the log tarball (default: its LFN)')
    .action((pandaId: number, flags: LogsFlags) => runLogs(pandaId, flags, io));
  adminOptions(
    program.command('outputs').description("download a job's outputs and verify their checksums"),
    env,
  )
    .argument('<pandaId>', 'PanDA job id', parsePositiveInt)
    .option('-o, --output <dir>', 'directory to write to', '.')
    .action((pandaId: number, flags: OutputsFlags) => runOutputs(pandaId, flags, io));
  adminOptions(
    program.command('kill').description('kill jobs (unknown or finished ones: no-op)'),
    env,
  )
    .argument('<pandaIds...>', 'PanDA job ids')
    .option('--reason <text>', 'why, as recorded in the job history')
    .action((ids: string[], flags: KillFlags) => runKill(ids.map(pandaIdArgument), flags, io));
  adminOptions(
    program.command('drain').description('stop dispatching to an endpoint; running jobs go on'),
    env,
  )
    .argument('<endpoint>', 'endpoint id')
    .action((endpointId: string, flags: AdminFlags) => runDrain(endpointId, true, flags, io));
  adminOptions(program.command('undrain').description('dispatch to an endpoint again'), env)
    .argument('<endpoint>', 'endpoint id')
    .action((endpointId: string, flags: AdminFlags) => runDrain(endpointId, false, flags, io));

  const certs = program
    .command('certs')
    .description(
      'credentials for sites without a PKI (certs init, certs issue, certs token); needs openssl',
    );
  // Loaded on use: nothing else needs the PKI code.
  type CertsCommands = typeof import('./commands/certs.js');
  const certsCommands = (): Promise<CertsCommands> => import('./commands/certs.js');
  const roleOption = () =>
    new Option('--role <role>', 'what the admin may do').choices(['viewer', 'operator']);
  certs
    .command('init')
    .description(
      'make a CA and the control-plane server certificate (with a CA already in --dir: a new server certificate)',
    )
    .option('--dir <dir>', 'where to write them', '.')
    .option(
      '--host <name>',
      'a DNS name or IP address agents and admins dial (repeatable; default localhost and 127.0.0.1)',
      collect,
    )
    .option('--days <n>', 'validity of the server certificate', parsePositiveInt, 365)
    .option('--ca-days <n>', 'validity of the CA', parsePositiveInt, 3650)
    .action(async (flags: Parameters<CertsCommands['runCertsInit']>[0]) =>
      (await certsCommands()).runCertsInit(flags, io),
    );
  certs
    .command('issue')
    .description(
      'issue <name>.crt and <name>.key (mode 0600) for an agent or an admin; never overwrites',
    )
    .option('--dir <dir>', 'where the CA is', '.')
    .option('--endpoint <id>', 'agent certificate for this endpoint')
    .option('--admin <name>', 'admin certificate for this person or script')
    .addOption(roleOption())
    .option('--days <n>', 'validity (short: nothing can revoke it)', parsePositiveInt, 90)
    .action(async (flags: Parameters<CertsCommands['runCertsIssue']>[0]) =>
      (await certsCommands()).runCertsIssue(flags, io),
    );
  certs
    .command('token')
    .description(
      "make an admin bearer token: prints it once, and the line with its hash for the control plane's adminTokens",
    )
    .requiredOption('--name <name>', 'who holds it (shown in the control plane logs)')
    .addOption(roleOption().makeOptionMandatory())
    .option('--json', 'print {name, role, token, sha256}')
    .action(async (flags: Parameters<CertsCommands['runCertsToken']>[0]) =>
      (await certsCommands()).runCertsToken(flags, io),
    );

  program
    .command('nats-config')
    .description(
      'write the nats-server accounts that confine each agent to its own subjects, bucket and command consumer, and one nkey seed file per user',
    )
    .option('--endpoint <id>', 'an agent to include (repeatable)', collect)
    .option('--control-user <name>', "name of the control plane's seed file", 'control')
    .option('--prefix <prefix>', 'NATS subject prefix (default: from --config, else pgc)')
    .option('--config <file>', 'control-plane config: its prefix and the endpoints its queues list')
    .option(
      '--credentials-dir <dir>',
      'where seed files go (kept if there; default pgc-nats-credentials beside the output)',
    )
    .option('-o, --output <file>', 'where to write the accounts block (default stdout)')
    .action((flags: NatsConfigFlags) => runNatsConfig(flags, io));

  return program;
}
