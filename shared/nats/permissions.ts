/**
 * Who may do what on NATS (issue #7, RELIABILITY.md §2.4), as the nats-server `accounts` block
 * `pgc nats-config` writes. Pure: every name comes from subjects.ts, so permissions and the code
 * that uses them cannot drift apart.
 *
 * Why accounts and not just per-user permissions in one account: nats-server checks a client's
 * publish permissions against the subject, never against the reply subject, and JetStream sends
 * its answers (PubAcks, pull status messages) to whatever reply subject the client chose — where
 * JetStream itself then takes them as API requests. Measured on 2.9.10 with an agent confined by
 * permissions alone: a PubAck aimed at `$JS.API.STREAM.PURGE.<logs>` purged the logs stream, a
 * pull aimed at `$JS.API.CONSUMER.DELETE.<cmd>.agent-B` deleted B's consumer. So JetStream and
 * the control plane live in one account, and each agent in its own account that sees only the
 * services the control account exports to it: a reply crossing the import is remapped by the
 * server into the agent's own account, where nothing but its own imports exists.
 *
 * Inside its account an agent's user may still publish only its own imports and subscribe only
 * under its own inbox prefix, so every other attempt is a permissions violation the server logs
 * and the client sees. The control plane's user has no restrictions: it alone creates streams,
 * consumers (every agent's included) and buckets.
 */
import { validateId } from '../ids.js';
import type { NatsNames } from './subjects.js';

export interface SubjectPermissions {
  /** Subjects the user may publish to (and send requests to). */
  publish: string[];
  /** Subjects the user may subscribe to (where replies and pulled messages arrive). */
  subscribe: string[];
}

/** One subject the control account exports to one agent, and the name the agent uses for it. */
export interface AgentService {
  /** The subject in the control account (where JetStream listens). */
  subject: string;
  /** The subject in the agent's account (differs only for JetStream API subjects). */
  local: string;
  /** More than one reply per request (a pull delivers a batch of messages). */
  streamed: boolean;
}

export interface AgentGrant {
  endpointId: string;
  account: string;
  services: AgentService[];
  permissions: SubjectPermissions;
}

const JS_API = '$JS.API';

/** The JetStream stream behind an object-store bucket (nats.js obj names it so). */
export function objectStoreStream(bucket: string): string {
  return `OBJ_${bucket}`;
}

/** The account that holds JetStream and the control plane's user. */
export function controlAccount(names: NatsNames): string {
  // The same spelling as the stream names (subjects.ts): PGC for pgc, SITE_X for site-x.
  return names.prefix.toUpperCase().replace(/-/g, '_');
}

export function agentAccount(names: NatsNames, endpointId: string): string {
  return `${controlAccount(names)}_AGENT_${validateId('endpoint id', endpointId)}`;
}

/**
 * The JetStream API prefix an agent under `pgc nats-config` uses (its `nats.jsApiPrefix`). An
 * account without JetStream answers `$JS.API.>` itself ("JetStream not enabled for account"),
 * shadowing any import of those subjects, so the agent's imports carry this prefix instead.
 */
export function agentJsApiPrefix(names: NatsNames): string {
  return `JS.${controlAccount(names)}.API`;
}

/**
 * Exactly what one agent's connection needs; docs/protocol.md "NATS accounts and permissions"
 * lists the same. Each JetStream API subject names one stream (and consumer), so none reaches
 * another endpoint's.
 */
export function agentGrant(names: NatsNames, endpointId: string): AgentGrant {
  const consumer = names.commandConsumer(endpointId);
  const commands = names.commandsStream;
  const bucket = names.bucket(endpointId);
  const objects = objectStoreStream(bucket);
  const api = agentJsApiPrefix(names);
  const service = (subject: string, streamed = false): AgentService => ({
    subject,
    local: subject.startsWith(`${JS_API}.`) ? api + subject.slice(JS_API.length) : subject,
    streamed,
  });
  const services = [
    // Events and log chunks, JetStream-published (a request whose PubAck comes to the inbox).
    service(names.eventsOfEndpoint(endpointId)),
    service(names.logsOfEndpoint(endpointId)),
    // The durable command consumer: look it up, pull from it, ack what it delivered.
    service(`${JS_API}.CONSUMER.INFO.${commands}.${consumer}`),
    service(`${JS_API}.CONSUMER.MSG.NEXT.${commands}.${consumer}`, true),
    service(`$JS.ACK.${commands}.${consumer}.>`),
    // The bucket (agent/delivery/object-uploader.ts): open it, read an object's info, purge the
    // chunks of a failed or replaced put (nats.js does), and put chunks and metadata.
    service(`${JS_API}.STREAM.INFO.${objects}`),
    service(`${JS_API}.STREAM.MSG.GET.${objects}`),
    service(`${JS_API}.STREAM.PURGE.${objects}`),
    service(`$O.${bucket}.>`),
  ];
  return {
    endpointId,
    account: agentAccount(names, endpointId),
    services,
    permissions: {
      publish: services.map((s) => s.local),
      // Replies (PubAcks, API responses) and pulled commands arrive only here: the agent's
      // connection sets this inbox prefix (nats.js `inboxPrefix`).
      subscribe: [`${names.agentInboxPrefix(endpointId)}.>`],
    },
  };
}

/** A user of the generated accounts: a label for the reader and its public nkey. */
export interface NatsUserKey {
  /** Shown as a comment above the user: who this key belongs to. */
  label: string;
  /** The user's public nkey (`U…`); the seed stays with the user, never in the server config. */
  nkey: string;
}

export interface AccountsSpec {
  names: NatsNames;
  control: NatsUserKey;
  agents: ReadonlyArray<NatsUserKey & { endpointId: string }>;
}

const NKEY_PUBLIC_USER = /^U[A-Z2-7]{55}$/;

/** Subjects, account names and labels are ids and fixed words; JSON quoting is valid config. */
const q = (text: string): string => JSON.stringify(text);

function userKey(user: NatsUserKey): string {
  if (!NKEY_PUBLIC_USER.test(user.nkey))
    throw new Error(`${user.label}: ${q(user.nkey)} is not a public user nkey`);
  return q(user.nkey);
}

function comment(label: string): string {
  return `# ${label.replace(/[\r\n]/g, ' ')}`;
}

/**
 * Renders the `accounts { … }` block for nats-server 2.9+. It holds public keys only, so anyone
 * who administers the server may read it; `include` it from the main configuration, which must
 * enable JetStream (`jetstream { store_dir: … }`). Throws on a malformed public key or a
 * repeated endpoint (either would lock an agent out without a word).
 */
export function renderAccounts(spec: AccountsSpec): string {
  const { names } = spec;
  const control = controlAccount(names);
  const seen = new Set<string>();
  const grants = spec.agents.map((agent) => {
    if (seen.has(agent.endpointId)) throw new Error(`endpoint ${agent.endpointId} given twice`);
    seen.add(agent.endpointId);
    return { agent, grant: agentGrant(names, agent.endpointId) };
  });
  const out = [
    '# panda-gc NATS accounts, written by `pgc nats-config` (docs/protocol.md). Public nkeys',
    '# only: the seeds are in the per-user credential files, never here. Anything an agent',
    '# account does not import and its user is not allowed is denied.',
    'accounts {',
    `  ${q(control)}: {`,
    '    jetstream: enabled',
    `    users: [`,
    `      ${comment(spec.control.label)}`,
    `      { nkey: ${userKey(spec.control)} }`,
    '    ]',
    '    exports: [',
  ];
  for (const { agent, grant } of grants) {
    out.push(`      ${comment(`to ${agent.label}`)}`);
    for (const s of grant.services)
      out.push(
        `      { service: ${q(s.subject)}, accounts: [${q(grant.account)}]${s.streamed ? ', response_type: stream' : ''} }`,
      );
  }
  out.push('    ]', '  }');
  for (const { agent, grant } of grants) {
    const list = (items: readonly string[]): string =>
      `[\n${items.map((s) => `            ${q(s)}`).join(',\n')}\n          ]`;
    out.push(
      `  ${comment(agent.label)}`,
      `  ${q(grant.account)}: {`,
      '    users: [',
      `      { nkey: ${userKey(agent)}, permissions: {`,
      `          publish: { allow: ${list(grant.permissions.publish)} }`,
      `          subscribe: { allow: ${list(grant.permissions.subscribe)} }`,
      '      } }',
      '    ]',
      '    imports: [',
      ...grant.services.map(
        (s) =>
          `      { service: { account: ${q(control)}, subject: ${q(s.subject)} }${s.local !== s.subject ? `, to: ${q(s.local)}` : ''} }`,
      ),
      '    ]',
      '  }',
    );
  }
  out.push('}', '');
  return out.join('\n');
}
