import { describe, expect, it } from 'vitest';
import { controlSchema, inputUrlTemplates, mayServe } from '../../../control/config.js';
import { loadConfig } from '../../../shared/config.js';
import { ConfigError } from '../../../shared/errors.js';

describe('control configuration', () => {
  it('works with nothing but a queue: loopback, plaintext, local NATS and simulator', () => {
    const config = loadConfig({ schema: controlSchema, flags: { queues: ['Q'] } });
    expect(config).toMatchObject({
      listen: '127.0.0.1:7800',
      insecure: false,
      queues: [{ name: 'Q', prodSourceLabel: 'user' }],
      nats: { url: 'nats://127.0.0.1:4222', subjectPrefix: 'pgc' },
      panda: { url: 'http://127.0.0.1:25080' },
      dispatchAckTimeoutMs: 10_000,
      agentLeaseMs: 600_000,
      pandaHeartbeatIntervalMs: 600_000,
      statusPollIntervalMs: 30_000,
      pollIntervalMs: 1000,
      idlePollIntervalMs: 10_000,
    });
    expect(config.queues[0]?.endpoints).toBeUndefined();
  });

  it('takes addresses and queues from PGC_* variables, flags winning', () => {
    const env = {
      PGC_ADDR: '127.0.0.1:9000',
      PGC_QUEUES: 'A,B',
      PGC_PANDA_URL: 'http://127.0.0.1:1',
      PGC_PANDA_TOKEN: 'secret',
      PGC_NATS_URL: 'nats://127.0.0.1:2',
      PGC_AGENT_LEASE_MS: '5000',
    };
    const config = loadConfig({
      schema: controlSchema,
      env,
      flags: { panda: { url: 'http://127.0.0.1:3' } },
    });
    expect(config.listen).toBe('127.0.0.1:9000');
    expect(config.queues.map((q) => q.name)).toEqual(['A', 'B']);
    expect(config.panda).toMatchObject({ url: 'http://127.0.0.1:3', token: 'secret' });
    expect(config.nats.url).toBe('nats://127.0.0.1:2');
    expect(config.agentLeaseMs).toBe(5000);
  });

  it('reports every bad setting at once', () => {
    try {
      loadConfig({ schema: controlSchema, flags: { queues: ['bad queue'], agentLeaseMs: -1 } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });

  it('points agents at the simulator for inputs only when PanDA is on loopback', () => {
    const at = (url: string, extra = {}) => controlSchema.parse({ panda: { url }, ...extra });
    expect(inputUrlTemplates(at('http://127.0.0.1:25080/'))).toEqual([
      'http://127.0.0.1:25080/sim/files/{scope}/{lfn}',
    ]);
    expect(inputUrlTemplates(at('https://pandaserver.cern.ch:25443'))).toEqual([]);
    expect(
      inputUrlTemplates(at('http://localhost:1', { inputUrlTemplates: ['https://x/{lfn}'] })),
    ).toEqual(['https://x/{lfn}']);
  });

  it('lets any endpoint serve a queue unless the queue names its endpoints', () => {
    const [open, closed] = controlSchema.parse({
      queues: ['A', { name: 'B', endpoints: ['ep1'] }],
    }).queues;
    expect(open && mayServe(open, 'anyone')).toBe(true);
    expect(closed && mayServe(closed, 'ep1')).toBe(true);
    expect(closed && mayServe(closed, 'ep2')).toBe(false);
  });

  it('takes admin tokens as hashes with a role, each name and hash once', () => {
    const sha256 = 'a'.repeat(64);
    const ok = controlSchema.parse({ adminTokens: [{ name: 'alice', role: 'viewer', sha256 }] });
    expect(ok.adminTokens).toEqual([{ name: 'alice', role: 'viewer', sha256 }]);
    expect(controlSchema.parse({}).adminTokens).toEqual([]);
    const problems = (adminTokens: unknown): string[] => {
      try {
        loadConfig({ schema: controlSchema, flags: { adminTokens } });
        return [];
      } catch (err) {
        return [...(err as ConfigError).problems];
      }
    };
    expect(problems([{ name: 'a', role: 'root', sha256 }])).toHaveLength(1);
    expect(problems([{ name: 'a', role: 'viewer', sha256: 'pgc_the_token_itself' }])).toEqual([
      expect.stringMatching(/lowercase hex SHA-256/),
    ]);
    expect(
      problems([
        { name: 'a', role: 'viewer', sha256 },
        { name: 'a', role: 'operator', sha256 },
      ]),
    ).toEqual([
      expect.stringMatching(/name appears twice/),
      expect.stringMatching(/sha256 appears twice/),
    ]);
  });
});
