import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { agentSchema } from '../../../../agent/config.js';
import { type AgentInitSettings, renderAgentYaml } from '../../../../cli/agent-init/agent-yaml.js';

const BASE: AgentInitSettings = {
  endpointId: 'ep-1',
  stateDir: '/home/u/.pgc/agent/ep-1',
  server: '127.0.0.1:7800',
  queues: ['Q1'],
  slots: 8,
  insecure: false,
  natsUrl: 'nats://127.0.0.1:4222',
  natsPrefix: 'pgc',
};
const HEADER = { version: '1.2.3', runCommand: 'pgc agent run --config /x.yaml' };

function roundTrip(settings: AgentInitSettings) {
  return agentSchema.parse(parse(renderAgentYaml(settings, HEADER)));
}

describe('agent configuration of pgc agent init', () => {
  it('reads back as the settings it was written from, credentials included', () => {
    const config = roundTrip({
      ...BASE,
      queues: ['Q1', 'Q2'],
      tls: { caFile: '/t/ca.crt', certFile: '/t/ep.crt', keyFile: '/t/ep.key' },
      nkeySeedFile: '/n/ep.nk',
      jsApiPrefix: 'JS.PGC.API',
      runAsUser: 'pgcpayload',
    });
    expect(config).toMatchObject({
      endpointId: 'ep-1',
      queues: ['Q1', 'Q2'],
      tls: { caFile: '/t/ca.crt', certFile: '/t/ep.crt', keyFile: '/t/ep.key' },
      nats: { nkeySeedFile: '/n/ep.nk', jsApiPrefix: 'JS.PGC.API', prefix: 'pgc' },
      runAsUser: 'pgcpayload',
    });
  });

  it('keeps paths that YAML would read otherwise, or that break a line, as they are', () => {
    const odd = ['/a: b/#c', '/yes', '/it\'s/"q"', '/new\nline', '123'];
    for (const stateDir of odd) expect(roundTrip({ ...BASE, stateDir }).stateDir).toBe(stateDir);
  });

  it('leaves the credential settings commented out when no flag gave them', () => {
    const text = renderAgentYaml(BASE, HEADER);
    expect(text).toMatch(/^# tls:$/m);
    expect(text).toMatch(/^ {2}# nkeySeedFile:/m);
    expect(text).toMatch(/^# runAsUser:/m);
    expect(roundTrip(BASE).tls).toEqual({});
  });
});
