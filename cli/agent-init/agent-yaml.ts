/**
 * The agent configuration `pgc agent init` writes: the settings its flags chose, each with a
 * comment saying what it is for (as in examples/agent.yaml), and the optional credential blocks
 * commented out with what to put there. Pure: the caller loads the text back through the agent's
 * own loader before it is written.
 */
import { stringify } from 'yaml';
import { hasControlCharacter } from './control-characters.js';

/** What the flags decided; paths are absolute. */
export interface AgentInitSettings {
  endpointId: string;
  stateDir: string;
  server: string;
  queues: string[];
  slots: number;
  insecure: boolean;
  natsUrl: string;
  natsPrefix: string;
  nkeySeedFile?: string | undefined;
  jsApiPrefix?: string | undefined;
  tls?: { caFile: string; certFile: string; keyFile: string } | undefined;
  runAsUser?: string | undefined;
}

/** What the header says about who wrote the file and how to run it. */
export interface AgentYamlHeader {
  version: string;
  /** The command line that runs the agent with this file. */
  runCommand: string;
}

/** One YAML value on one line: quoted only where YAML needs it, control characters escaped. */
function value(v: string | number | boolean | string[]): string {
  // A JSON string is a valid YAML double-quoted scalar, and keeps a newline on this line.
  if (typeof v === 'string' && hasControlCharacter(v)) return JSON.stringify(v);
  return stringify(v, { collectionStyle: 'flow', lineWidth: 0, flowCollectionPadding: false })
    .trimEnd()
    .replace(/\n/g, ' ');
}

function tlsLines(s: AgentInitSettings): string[] {
  const intro = [
    '# Mutual TLS (required for a non-loopback server unless insecure: true): the certificate carries',
    `# this endpoint's id as the URI SAN pgc:agent:${s.endpointId} (\`pgc certs issue --endpoint ${s.endpointId}\``,
    '# makes one); the control plane refuses a Hello for any other endpoint. The key: mode 0600,',
    '# outside stateDir.',
  ];
  if (s.tls === undefined) {
    return [
      ...intro,
      '# tls:',
      '#   caFile: /path/to/ca.crt',
      `#   certFile: /path/to/${s.endpointId}.crt`,
      `#   keyFile: /path/to/${s.endpointId}.key`,
    ];
  }
  return [
    ...intro,
    'tls:',
    `  caFile: ${value(s.tls.caFile)}`,
    `  certFile: ${value(s.tls.certFile)}`,
    `  keyFile: ${value(s.tls.keyFile)}`,
  ];
}

function natsLines(s: AgentInitSettings): string[] {
  const credentials =
    s.nkeySeedFile === undefined
      ? [
          '  # nkeySeedFile: /path/to/agent.nk   # from `pgc nats-config`, with the jsApiPrefix it prints',
          '  # jsApiPrefix: JS.PGC.API',
        ]
      : [
          `  nkeySeedFile: ${value(s.nkeySeedFile)}`,
          `  jsApiPrefix: ${value(s.jsApiPrefix ?? '$JS.API')}`,
        ];
  return [
    '# JetStream: events and logs go out, kills come in. On a shared server, connect with the',
    `# credentials \`pgc nats-config --endpoint ${s.endpointId}\` wrote: this agent's nkey seed (mode 0600,`,
    '# outside stateDir; re-read on every reconnect) and the API prefix of its confined account.',
    'nats:',
    `  url: ${value(s.natsUrl)}`,
    `  prefix: ${value(s.natsPrefix)} # the control plane's subject prefix`,
    ...credentials,
  ];
}

function runAsLines(s: AgentInitSettings): string[] {
  const why = [
    "# A payload running as the agent's own user can read the agent's files (its NATS seed, its TLS",
    '# key). An agent run as root can run payloads as another user, which closes that.',
  ];
  return s.runAsUser === undefined
    ? [...why, '# runAsUser: pgcpayload']
    : [...why, `runAsUser: ${value(s.runAsUser)}`];
}

export function renderAgentYaml(s: AgentInitSettings, header: AgentYamlHeader): string {
  const queuesNote =
    s.queues.length === 0 ? ' # none yet: this agent gets no work until one is listed' : '';
  const lines = [
    `# pgc agent configuration for endpoint ${s.endpointId}, written by \`pgc agent init\` (pgc ${header.version}).`,
    `#   ${header.runCommand}`,
    '# Flags and PGC_* environment variables override this file (flag > environment > file >',
    '# default). Every other setting keeps its default; docs/configuration.md lists them all.',
    '',
    `endpointId: ${value(s.endpointId)}`,
    '# Journal, sandbox store and job directories (LevelDB: a local disk, not NFS/GPFS/Lustre).',
    `stateDir: ${value(s.stateDir)}`,
    '',
    '# The control plane this agent dials (it never listens itself) and the PanDA queues it offers.',
    `server: ${value(s.server)}`,
    `queues: ${value(s.queues)}${queuesNote}`,
    '# Capacity: a job takes coreCount slots.',
    `slots: ${value(s.slots)}`,
    ...tlsLines(s),
    `insecure: ${value(s.insecure)} # true allows plaintext gRPC to a non-loopback server`,
    '',
    ...natsLines(s),
    '',
    '# Payloads: function jobs run with this Python (a venv or conda python works).',
    'python: python3',
    ...runAsLines(s),
  ];
  return `${lines.join('\n')}\n`;
}
