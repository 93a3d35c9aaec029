import { describe, expect, it } from 'vitest';
import {
  agentAccount,
  agentGrant,
  agentJsApiPrefix,
  controlAccount,
  renderAccounts,
} from '../../../shared/nats/permissions.js';
import { natsNames } from '../../../shared/nats/subjects.js';

const names = natsNames('pgc');
// Syntactically valid public user nkeys (U + 55 base32 characters); no real keys needed here.
const KEY_C = `U${'C'.repeat(55)}`;
const KEY_A = `U${'A'.repeat(55)}`;
const KEY_B = `U${'B'.repeat(55)}`;

describe('agent NATS grants', () => {
  it("list exactly the agent's own subjects, consumer and bucket", () => {
    const grant = agentGrant(names, 'ep-a');
    expect(grant.account).toBe('PGC_AGENT_ep-a');
    expect(grant.permissions).toEqual({
      publish: [
        'pgc.evt.ep-a.>',
        'pgc.log.ep-a.>',
        'JS.PGC.API.CONSUMER.INFO.PGC_CMD.agent-ep-a',
        'JS.PGC.API.CONSUMER.MSG.NEXT.PGC_CMD.agent-ep-a',
        '$JS.ACK.PGC_CMD.agent-ep-a.>',
        'JS.PGC.API.STREAM.INFO.OBJ_pgc-obj-ep-a',
        'JS.PGC.API.STREAM.MSG.GET.OBJ_pgc-obj-ep-a',
        'JS.PGC.API.STREAM.PURGE.OBJ_pgc-obj-ep-a',
        '$O.pgc-obj-ep-a.>',
      ],
      subscribe: ['_INBOX_ep-a.>'],
    });
    // Each API subject is the control account's real one under the agent's own prefix.
    for (const s of grant.services)
      expect(s.local).toBe(s.subject.replace(/^\$JS\.API\./, `${agentJsApiPrefix(names)}.`));
    expect(grant.services.filter((s) => s.streamed).map((s) => s.subject)).toEqual([
      '$JS.API.CONSUMER.MSG.NEXT.PGC_CMD.agent-ep-a',
    ]);
  });

  it('follow the configured prefix and never name another endpoint', () => {
    const other = natsNames('site-x');
    const grant = agentGrant(other, 'a');
    expect(controlAccount(other)).toBe('SITE_X');
    expect(agentAccount(other, 'a')).toBe('SITE_X_AGENT_a');
    expect(grant.permissions.publish).toContain('site-x.evt.a.>');
    expect(grant.permissions.publish).toContain('$JS.ACK.SITE_X_CMD.agent-a.>');
    // Endpoint "a" must not reach endpoint "ab": every token ends where the id ends.
    for (const subject of grant.permissions.publish)
      expect(subject).toMatch(/(^|\.)(a|agent-a|site-x-obj-a|OBJ_site-x-obj-a)(\.|$)/);
  });

  it('refuse an endpoint id that is not an id', () => {
    expect(() => agentGrant(names, 'a.>')).toThrow();
    expect(() => agentGrant(names, '*')).toThrow();
  });
});

describe('the accounts block', () => {
  it('exports each service to its agent only and imports it under the local name', () => {
    const text = renderAccounts({
      names,
      control: { label: 'control plane', nkey: KEY_C },
      agents: [
        { label: 'agent ep-a', nkey: KEY_A, endpointId: 'ep-a' },
        { label: 'agent ep-b', nkey: KEY_B, endpointId: 'ep-b' },
      ],
    });
    expect(text).toContain('"PGC": {\n    jetstream: enabled');
    expect(text).toContain(
      '{ service: "$JS.API.CONSUMER.MSG.NEXT.PGC_CMD.agent-ep-b", accounts: ["PGC_AGENT_ep-b"], response_type: stream }',
    );
    expect(text).toContain(
      '{ service: { account: "PGC", subject: "$JS.API.STREAM.INFO.OBJ_pgc-obj-ep-a" }, to: "JS.PGC.API.STREAM.INFO.OBJ_pgc-obj-ep-a" }',
    );
    expect(text).toContain('{ service: { account: "PGC", subject: "$O.pgc-obj-ep-a.>" } }');
    // The control user is unrestricted; agents are not; no seed (S…) is anywhere.
    expect(text).toContain(`{ nkey: "${KEY_C}" }`);
    expect(text).toContain(`{ nkey: "${KEY_A}", permissions: {`);
    expect(text).not.toMatch(/"S[A-Z2-7]{20,}/);
    // Agent ep-a's account imports nothing of ep-b.
    const accountA = text.slice(text.indexOf('"PGC_AGENT_ep-a": {'), text.indexOf('# agent ep-b'));
    expect(accountA).not.toContain('ep-b');
  });

  it('refuses a malformed key or a repeated endpoint', () => {
    const control = { label: 'control', nkey: KEY_C };
    expect(() =>
      renderAccounts({
        names,
        control,
        agents: [{ label: 'a', nkey: 'SUAXXXX', endpointId: 'a' }],
      }),
    ).toThrow(/not a public user nkey/);
    expect(() =>
      renderAccounts({
        names,
        control,
        agents: [
          { label: 'a', nkey: KEY_A, endpointId: 'a' },
          { label: 'a again', nkey: KEY_B, endpointId: 'a' },
        ],
      }),
    ).toThrow(/given twice/);
  });
});
